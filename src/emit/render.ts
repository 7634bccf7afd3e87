/**
 * Handlebars rendering of the templates in the repository's `templates/` directory. Templates are
 * compiled once per process.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

type HandlebarsModule = typeof import("handlebars");
type TemplateDelegate = ReturnType<HandlebarsModule["compile"]>;

const TEMPLATE_EXTENSION = ".hbs";

/**
 * `templates/` sits next to `src/` and `dist/` at the package root; this module lives in
 * `src/emit/` (vitest, tsx) or `dist/emit/` (published), two levels below it in both cases.
 */
export const TEMPLATES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "templates");

let environment: HandlebarsModule | undefined;
const compiled = new Map<string, TemplateDelegate>();

function handlebars(): HandlebarsModule {
  if (environment !== undefined) return environment;
  // handlebars is CommonJS with `module.exports = instance`; require gives that instance directly.
  environment = (createRequire(import.meta.url)("handlebars") as HandlebarsModule).create();
  return environment;
}

/**
 * Renders `templates/<name>.hbs` with `data`. Output is not HTML-escaped (`noEscape`): templates
 * produce TypeScript, and all values put into them are identifiers or literals built by the emitters.
 */
export function renderTemplate(name: string, data: unknown): string {
  let template = compiled.get(name);
  if (template === undefined) {
    const source = readFileSync(join(TEMPLATES_DIR, `${name}${TEMPLATE_EXTENSION}`), "utf8");
    template = handlebars().compile(source, { noEscape: true });
    compiled.set(name, template);
  }
  return template(data);
}
