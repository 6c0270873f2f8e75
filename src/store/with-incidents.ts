import type { IncidentStore } from "./types.js";

type Args<K extends keyof IncidentStore> = Parameters<IncidentStore[K]>;

/**
 * Both stores keep incidents and the outbox in one shared class (sql/incidents.ts); this base
 * forwards the IncidentStore half of the Store interface to it.
 */
export abstract class WithIncidents implements IncidentStore {
  protected abstract readonly incidents: IncidentStore;

  listOpenIncidents(...a: Args<"listOpenIncidents">) { return this.incidents.listOpenIncidents(...a); }
  openIncident(...a: Args<"openIncident">) { return this.incidents.openIncident(...a); }
  changeIncident(...a: Args<"changeIncident">) { return this.incidents.changeIncident(...a); }
  remindIncident(...a: Args<"remindIncident">) { return this.incidents.remindIncident(...a); }
  closeIncident(...a: Args<"closeIncident">) { return this.incidents.closeIncident(...a); }
  enqueueNotification(...a: Args<"enqueueNotification">) { return this.incidents.enqueueNotification(...a); }
  claimDeliveries(...a: Args<"claimDeliveries">) { return this.incidents.claimDeliveries(...a); }
  settleDelivery(...a: Args<"settleDelivery">) { return this.incidents.settleDelivery(...a); }
  listDeliveries(...a: Args<"listDeliveries">) { return this.incidents.listDeliveries(...a); }
  setNotifiers(...a: Args<"setNotifiers">) { return this.incidents.setNotifiers(...a); }
  getNotifiers(...a: Args<"getNotifiers">) { return this.incidents.getNotifiers(...a); }
}
