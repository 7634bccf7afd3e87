/**
 * Reading a `/metrics` answer the way Prometheus does: parsed with a Prometheus text-format parser
 * (parse-prometheus-text-format), then looked up by family name and labels.
 *
 * That parser folds every series of a histogram into one sample without labels (its python origin
 * supported unlabelled histograms only), so histogram families are parsed as their plain
 * `_bucket` / `_sum` / `_count` series and put back together here, one sample per label set.
 */
import parsePrometheusTextFormat, {
  type PrometheusFamily,
  type PrometheusSample,
} from "parse-prometheus-text-format";

/** A parsed exposition, by family name. */
export class Exposition {
  readonly families: ReadonlyMap<string, PrometheusFamily>;

  constructor(text: string) {
    const histograms = new Map<string, string>();
    const lines = text.split("\n").filter((line) => {
      const type = /^# TYPE (\S+) histogram$/.exec(line);
      if (type === null) return true;
      histograms.set(type[1]!, "");
      return false;
    });
    const parsed = new Map(
      parsePrometheusTextFormat(lines.join("\n")).map((family) => [family.name, family]),
    );
    for (const name of histograms.keys()) {
      const help = parsed.get(name)?.help ?? "";
      parsed.set(name, { name, help, type: "HISTOGRAM", metrics: histogramSamples(parsed, name) });
      for (const suffix of ["", "_bucket", "_sum", "_count"])
        if (suffix !== "") parsed.delete(`${name}${suffix}`);
    }
    this.families = parsed;
  }

  /** The family `name`; throws naming the families there are when it is missing. */
  family(name: string): PrometheusFamily {
    const family = this.families.get(name);
    if (family === undefined) {
      throw new Error(`no metric ${name}; exposed: ${[...this.families.keys()].sort().join(", ")}`);
    }
    return family;
  }

  /** The samples of `name` whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}): PrometheusSample[] {
    return this.family(name).metrics.filter((sample) =>
      Object.entries(labels).every(([key, value]) => sample.labels?.[key] === value),
    );
  }

  /** The value of the one sample of `name` with `labels` (0 when there is none: an unseen label set). */
  value(name: string, labels: Record<string, string> = {}): number {
    const matching = this.samples(name, labels);
    if (matching.length > 1)
      throw new Error(`${matching.length} samples of ${name} match ${JSON.stringify(labels)}`);
    return matching.length === 0 ? 0 : Number(matching[0]!.value ?? matching[0]!.count);
  }
}

/** GETs `url` and parses the answer; checks the Prometheus content type. */
export async function scrape(url: string): Promise<Exposition> {
  const response = await fetch(url);
  if (response.status !== 200) throw new Error(`GET ${url}: ${response.status}`);
  const type = response.headers.get("content-type") ?? "";
  if (!type.startsWith("text/plain")) throw new Error(`GET ${url}: content type ${type}`);
  return new Exposition(await response.text());
}

/** The samples of histogram `name`, from its `_bucket`, `_sum` and `_count` series. */
function histogramSamples(parsed: ReadonlyMap<string, PrometheusFamily>, name: string): PrometheusSample[] {
  const byLabels = new Map<
    string,
    { labels: Record<string, string>; buckets: Record<string, string>; sum?: string; count?: string }
  >();
  const entry = (labels: Record<string, string>) => {
    const key = JSON.stringify(Object.entries(labels).sort());
    let found = byLabels.get(key);
    if (found === undefined) {
      found = { labels, buckets: {} };
      byLabels.set(key, found);
    }
    return found;
  };
  for (const sample of parsed.get(`${name}_bucket`)?.metrics ?? []) {
    const { le, ...labels } = sample.labels ?? {};
    if (le !== undefined && sample.value !== undefined) entry(labels).buckets[le] = sample.value;
  }
  for (const sample of parsed.get(`${name}_sum`)?.metrics ?? []) {
    if (sample.value !== undefined) entry(sample.labels ?? {}).sum = sample.value;
  }
  for (const sample of parsed.get(`${name}_count`)?.metrics ?? []) {
    if (sample.value !== undefined) entry(sample.labels ?? {}).count = sample.value;
  }
  return [...byLabels.values()];
}
