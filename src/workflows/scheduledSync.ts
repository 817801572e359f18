/**
 * The action of a cron data source's Temporal Schedule (R8.4): asks the data
 * source's workflow for a sync run, and ends. The schedule's run id is the
 * request id, so a retried action never asks twice.
 */
import { getExternalWorkflowHandle, workflowInfo } from '@temporalio/workflow';
import { dataSourceWorkflowId, syncNowSignal } from '../contract';

export async function scheduledSyncWorkflow(workspace: string, dataSource: string): Promise<void> {
  await getExternalWorkflowHandle(dataSourceWorkflowId(workspace, dataSource)).signal(syncNowSignal, {
    origin: 'schedule',
    requestId: workflowInfo().workflowId,
  });
}
