import { spawn } from "node:child_process";
const c = spawn("sleep", ["30"], { argv0: "vim", detached: true, stdio: "ignore" });
// emulate e.g. `vim /etc/jobclock/jobclock.yaml`: give it a cmdline containing 'jobclock'
const d = spawn("/bin/sh", ["-c", "sleep 30", "/etc/jobclock/jobclock.yaml"], { detached: true, stdio: "ignore" });
d.unref(); c.unref();
console.log(d.pid);
