/** The workflows a worker registers (bundled by the Temporal worker). */
export { dataSourceWorkflow } from './dataSource';
export { jobWorkflow } from './job';
export { workspaceLimiterWorkflow } from './limiter';
export { scheduledSyncWorkflow } from './scheduledSync';
export { expireRowsWorkflow } from './expireRows';
export { sqlQueryWorkflow } from './sqlQuery';
export { queueIntakeWorkflow } from './queueIntake';
