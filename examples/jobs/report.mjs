// An example module job: the default export runs in a worker thread with a ctx.
// ctx.signal is aborted on timeout or shutdown; ctx.log lines are kept in the run's output.
export default async function report(ctx) {
  ctx.log(`building report for slot ${ctx.slot.toISOString()} (attempt ${ctx.attempt})`);
  const rows = Array.from({ length: 1000 }, (_, i) => i * i);
  await new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, 500);
    ctx.signal.addEventListener("abort", () => (clearTimeout(timer), reject(ctx.signal.reason)));
  });
  ctx.log(`report done: ${rows.length} rows, checksum ${rows.reduce((a, b) => a + b, 0)}`);
}
