import { describe, expect, it } from "vitest";
import { detectSupervisor, supervisorCommand, unitFromCgroup, unsupervisedEnv } from "../../src/daemon/supervisor.js";

describe("supervisor detection", () => {
  it("supervisord: program name, or GROUP:NAME in a group of several", () => {
    expect(detectSupervisor({ SUPERVISOR_ENABLED: "1", SUPERVISOR_PROCESS_NAME: "jobclock", SUPERVISOR_GROUP_NAME: "jobclock" })).toBe("supervisord:jobclock");
    expect(detectSupervisor({ SUPERVISOR_ENABLED: "1", SUPERVISOR_PROCESS_NAME: "jobclock_01", SUPERVISOR_GROUP_NAME: "jobclock" })).toBe("supervisord:jobclock:jobclock_01");
  });

  it("systemd: the unit from the cgroup (v2 and v1 layouts)", () => {
    expect(detectSupervisor({ INVOCATION_ID: "abc" }, () => "0::/system.slice/jobclock.service\n")).toBe("systemd:jobclock.service");
    expect(unitFromCgroup("12:pids:/system.slice/jobclock.service\n1:name=systemd:/system.slice/jobclock.service\n")).toBe("jobclock.service");
    expect(unitFromCgroup("0::/user.slice/user-0.slice/session-3.scope\n")).toBeNull();
    expect(detectSupervisor({ INVOCATION_ID: "abc" }, () => { throw new Error("no /proc"); })).toBe("systemd:UNIT");
  });

  it("neither: null; and `start` drops every variable through which a supervisor speaks", () => {
    expect(detectSupervisor({}, () => "0::/\n")).toBeNull();
    const env = unsupervisedEnv({ PATH: "/bin", SUPERVISOR_ENABLED: "1", SUPERVISOR_PROCESS_NAME: "x", INVOCATION_ID: "y", NOTIFY_SOCKET: "/run/s" });
    expect(env).toEqual({ PATH: "/bin" });
  });

  it("names the command to use", () => {
    expect(supervisorCommand("supervisord:jobclock", "stop")).toBe("supervisorctl stop jobclock");
    expect(supervisorCommand("systemd:jobclock.service", "restart")).toBe("systemctl restart jobclock.service");
  });
});
