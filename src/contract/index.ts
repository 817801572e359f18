/**
 * The contract every side imports: workflows, activities, clients, the API,
 * the CLI and event intake. Deterministic and I/O-free (checked by
 * `npm run lint`): it imports only the Temporal SDK's workflow and common
 * packages and type declarations.
 */
export * from './dataSources';
export * from './format';
export * from './jobs';
export * from './messages';
export * from './objects';
