// How the sandbox worker thread is started (supervisor.ts): no imports, so
// that the sandbox process's bundle (process-bundle.ts) holds only what it runs.

/**
 * How a sandbox worker is started: bounded memory and stack, its output
 * piped to us, and an empty environment (code that escaped the VM into the
 * worker finds no secret in process.env).
 */
export function sandboxWorkerOptions(memoryMb: number) {
  return {
    resourceLimits: { maxOldGenerationSizeMb: memoryMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
    stdout: true,
    stderr: true,
    env: {},
  };
}
