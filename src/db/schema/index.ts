export * from "./accounts";
export * from "./api-keys";
export * from "./audit-events";
export * from "./edge-outbox";
export * from "./meter-reports";
export * from "./portal-credentials";
export * from "./stripe-events";
export * from "./usage-daily";
