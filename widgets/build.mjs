// Builds selfservice/static/widget.js from src/ (minified CSS inlined into minified JS).
//
//   npm ci && npm run build     write the file (commit it: `pip install` needs no Node)
//   node build.mjs --check      exit 1 if the committed file differs from a fresh build
//
// The banner carries a SHA-256 of the sources, so tests/test_widget.py can tell a stale
// build even where Node is not installed.
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { build, transform, version } from "esbuild";

const here = new URL(".", import.meta.url);
const OUT = new URL("../selfservice/static/widget.js", here);
// Hashed in this order; tests/test_widget.py computes the same digest.
const SOURCES = ["build.mjs", "src/widget.css", "src/widget.js"];

async function sourceDigest() {
  const hash = createHash("sha256");
  for (const name of SOURCES) {
    hash.update(name + "\0");
    hash.update(await readFile(new URL(name, here)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

async function bundle() {
  const css = await transform(await readFile(new URL("src/widget.css", here), "utf8"), {
    loader: "css",
    minify: true,
    target: ["chrome100", "firefox100", "safari15"],
  });
  const result = await build({
    entryPoints: [fileURLToPath(new URL("src/widget.js", here))],
    bundle: true,
    minify: true,
    format: "iife",
    target: ["es2021"],
    charset: "utf8",
    legalComments: "none",
    define: { __CSS__: JSON.stringify(css.code.trim()) },
    banner: {
      js: `/*! selfservice help widget | built by widgets/build.mjs with esbuild ${version} | source sha256:${await sourceDigest()} */`,
    },
    write: false,
  });
  return result.outputFiles[0].text;
}

const code = await bundle();
if (process.argv.includes("--check")) {
  const committed = await readFile(OUT, "utf8").catch(() => "");
  if (committed !== code) {
    console.error("selfservice/static/widget.js is out of date: run `npm run build` in widgets/");
    process.exit(1);
  }
  console.log("selfservice/static/widget.js is up to date");
} else {
  await writeFile(OUT, code);
  console.log(`wrote ${fileURLToPath(OUT)} (${code.length} bytes)`);
}
