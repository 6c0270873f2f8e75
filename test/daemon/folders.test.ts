import { chmodSync, lstatSync, renameSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { tempDir } from "../helpers/spec.js";

// Someone who can write the parent swaps a symlink in for the folder between jobclock's mkdir and
// its chmod: the mock does it at the exact moment, right after the real mkdir.
const swap = vi.hoisted(() => ({ at: null as string | null, target: "" }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const mkdirSync = ((path: string, options?: object) => {
    const made = fs.mkdirSync(path, options as never);
    if (path === swap.at) {
      fs.renameSync(path, `${path}.moved`);
      fs.symlinkSync(swap.target, path);
    }
    return made;
  }) as typeof fs.mkdirSync;
  return { ...fs, default: { ...fs, mkdirSync }, mkdirSync };
});

const { makeFolders, FolderReplacedError } = await import("../../src/os/folders.js");

afterEach(() => {
  swap.at = null;
});

describe("makeFolders", () => {
  it("sets the mode of each folder it makes, whatever the umask", () => {
    const dir = join(tempDir(), "a/b");
    const old = process.umask(0o077);
    try {
      makeFolders(dir, 0o755);
    } finally {
      process.umask(old);
    }
    expect(statSync(dir).mode & 0o777).toBe(0o755);
    expect(statSync(join(dir, "..")).mode & 0o777).toBe(0o755);
  });

  it("never changes the mode through a symlink swapped in after the mkdir (was: chmod followed it)", () => {
    const base = tempDir();
    const target = join(base, "secret");
    writeFileSync(target, "root's file\n");
    chmodSync(target, 0o600);
    swap.at = join(base, "logs");
    swap.target = target;
    let thrown: unknown;
    try {
      makeFolders(join(base, "logs"), 0o750);
    } catch (error) {
      thrown = error;
    }
    expect(statSync(target).mode & 0o777).toBe(0o600); // was 0750: the chmod went through the link
    expect(lstatSync(join(base, "logs")).isSymbolicLink()).toBe(true);
    expect(thrown).toBeInstanceOf(FolderReplacedError);
    expect((thrown as Error).message).toBe(`${base}/logs was replaced by a symbolic link right after jobclock made it; its mode was left alone`);
    renameSync(`${base}/logs.moved`, `${base}/moved`); // keep the temp folder removable
  });
});
