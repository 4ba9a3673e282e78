// Preloaded (node --require) into a measured node process when GNU time is not available: writes
// the process's peak resident set size in kilobytes and its user and system CPU time in seconds
// ("KB USER SYS", as bench/lib/measure.ts asks GNU time for) to the file named by BENCH_MAXRSS_FILE on exit.
const { writeFileSync } = require("node:fs");

const file = process.env.BENCH_MAXRSS_FILE;
if (file) {
  delete process.env.BENCH_MAXRSS_FILE;
  process.on("exit", () => {
    const usage = process.resourceUsage();
    writeFileSync(file, `${usage.maxRSS} ${usage.userCPUTime / 1e6} ${usage.systemCPUTime / 1e6}\n`);
  });
}
