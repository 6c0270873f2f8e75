// Idle schedules must not fire during the idle window, whatever the time of day the benchmark
// runs: a daily cron at an hour twelve hours from now.
export function dailyAtFarHour({ seconds = true } = {}) {
  const hour = (new Date().getHours() + 12) % 24;
  return seconds ? `0 0 ${hour} * * *` : `0 ${hour} * * *`;
}
