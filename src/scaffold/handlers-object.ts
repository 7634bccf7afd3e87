/**
 * Finding the handlers object of a project's handlers index (the object literal the app passes to
 * the generated facade), in a file parsed by ts-morph.
 */
import { Node, type ObjectLiteralExpression, type SourceFile, SyntaxKind } from "ts-morph";
import { ScaffoldError } from "./errors.js";

/**
 * The handlers object of the index: a variable typed (or `satisfies`) `typeName`, an object literal
 * `as`/`satisfies typeName` anywhere, or the second argument of `create<Service>Server|Client(…)`.
 */
function findHandlersObject(
  file: SourceFile,
  typeName: string,
  factoryName: string,
): ObjectLiteralExpression | undefined {
  const namesType = (text: string | undefined) =>
    text !== undefined && new RegExp(`(^|\\.)${typeName}$`).test(text.trim());
  const unwrap = (node: Node | undefined): ObjectLiteralExpression | undefined => {
    let current = node;
    while (
      current !== undefined &&
      (Node.isSatisfiesExpression(current) ||
        Node.isAsExpression(current) ||
        Node.isParenthesizedExpression(current))
    ) {
      current = current.getExpression();
    }
    return current !== undefined && Node.isObjectLiteralExpression(current) ? current : undefined;
  };
  for (const declaration of file.getDescendantsOfKind(SyntaxKind.VariableDeclaration)) {
    if (namesType(declaration.getTypeNode()?.getText())) {
      const literal = unwrap(declaration.getInitializer());
      if (literal !== undefined) return literal;
    }
  }
  for (const node of file.getDescendants()) {
    if (
      (Node.isSatisfiesExpression(node) || Node.isAsExpression(node)) &&
      namesType(node.getTypeNode()?.getText())
    ) {
      const literal = unwrap(node.getExpression());
      if (literal !== undefined) return literal;
    }
  }
  for (const call of file.getDescendantsOfKind(SyntaxKind.CallExpression)) {
    const callee = call.getExpression().getText();
    if (callee === factoryName || callee.endsWith(`.${factoryName}`)) {
      const literal = unwrap(call.getArguments()[1]);
      if (literal !== undefined) return literal;
    }
  }
  return undefined;
}

/** The handlers object, or `INDEX_UNRECOGNISED` saying what was expected. */
export function requireHandlersObject(
  file: SourceFile,
  path: string,
  typeName: string,
  factoryName: string,
): ObjectLiteralExpression {
  const literal = findHandlersObject(file, typeName, factoryName);
  if (literal === undefined) {
    throw new ScaffoldError(
      "INDEX_UNRECOGNISED",
      `${path} has no handlers object: expected an object literal typed as ${typeName} ` +
        `(e.g. \`export const handlers: ${typeName} = { ... };\`, \`{ ... } satisfies ${typeName}\`) ` +
        `or passed to ${factoryName}(options, { ... })`,
    );
  }
  return literal;
}
