/**
 * Model → the C SDK: `<prefix>.h/.c` (messages and codecs) and, when the model has a login flow,
 * `<prefix>_device.h/.c` (the device side on the paynet C runtime). Pure and deterministic. The C
 * target's own rules (bounded fields, no recursion, C names) are checked first; with any problem
 * there are no files, only the diagnostics.
 */
import type { Diagnostic, ProtoModel } from "../../model/types.js";
import type { GeneratedFile } from "../types.js";
import { checkCTarget } from "./check.js";
import { emitCodecSource } from "./codec.js";
import { emitDeviceHeader } from "./device-header.js";
import { emitDeviceSource } from "./device-source.js";
import { hasDeviceSide } from "./device-view.js";
import { emitCodecHeader } from "./messages.js";
import { serviceNames } from "./names.js";
import { SizeTable } from "./sizes.js";
import { cFileHeader, tidyC } from "./text.js";

export interface CEmitOptions {
  readonly generatorVersion: string;
}

export interface CEmitResult {
  readonly files: GeneratedFile[];
  readonly diagnostics: Diagnostic[];
}

export function emitCSdk(model: ProtoModel, options: CEmitOptions): CEmitResult {
  const diagnostics = checkCTarget(model);
  if (diagnostics.length > 0) return { files: [], diagnostics };
  const service = serviceNames(model);
  const sizes = new SizeTable(model.messages);
  const header = cFileHeader(model, options.generatorVersion);
  const files: GeneratedFile[] = [
    { path: service.codecHeader, content: tidyC(emitCodecHeader(model, service, sizes, header)) },
    { path: service.codecSource, content: tidyC(emitCodecSource(model, service, header)) },
  ];
  if (hasDeviceSide(model)) {
    files.push(
      { path: service.deviceHeader, content: tidyC(emitDeviceHeader(model, service, sizes, header)) },
      { path: service.deviceSource, content: tidyC(emitDeviceSource(model, service, sizes, header)) },
    );
  }
  return { files: files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)), diagnostics };
}
