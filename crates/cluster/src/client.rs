//! What the front end asks of the scheduler beside running plans:
//! cancelling a plan's jobs, the rows they have read (a job's progress),
//! and the list of workers for the metrics.

use crate::error::{Error, Result};
use ballista_core::execution_plans::DistributedQueryExec;
use ballista_core::serde::protobuf::CancelJobParams;
use ballista_core::serde::protobuf::scheduler_grpc_client::SchedulerGrpcClient;
use ballista_core::utils::create_grpc_client_endpoint;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::protobuf::LogicalPlanNode;
use http_body_util::BodyExt;
use std::sync::Arc;
use std::time::Duration;

/// How long the front end waits for the scheduler on these side calls.
const PATIENCE: Duration = Duration::from_secs(5);

/// Cancels the cluster jobs `plan` started (its `DistributedQueryExec`s
/// that got as far as a job id), so that a query the front end stopped
/// (a client gone, a time limit, an abort) stops on the workers too.
/// Returns how many jobs it cancelled.
pub async fn cancel(scheduler_url: &str, plan: &Arc<dyn ExecutionPlan>) -> Result<usize> {
    let jobs = job_ids(plan);
    if jobs.is_empty() {
        return Ok(0);
    }
    let unreachable = |e: &dyn std::fmt::Display| Error::Scheduler {
        url: scheduler_url.to_string(),
        reason: format!("cannot be reached to cancel a query: {e}"),
    };
    let url = crate::planner::scheduler_address(scheduler_url)?;
    let endpoint = create_grpc_client_endpoint(url, None).map_err(|e| unreachable(&e))?;
    let channel = tokio::time::timeout(PATIENCE, endpoint.connect())
        .await
        .map_err(|e| unreachable(&e))?
        .map_err(|e| unreachable(&e))?;
    let mut scheduler = SchedulerGrpcClient::new(channel);
    for job_id in &jobs {
        tokio::time::timeout(
            PATIENCE,
            scheduler.cancel_job(CancelJobParams {
                job_id: job_id.clone(),
            }),
        )
        .await
        .map_err(|e| unreachable(&e))?
        .map_err(|e| unreachable(&e))?;
    }
    Ok(jobs.len())
}

/// The ids of the cluster jobs `plan` has started so far (its
/// `DistributedQueryExec`s that got as far as a job id).
pub fn job_ids(plan: &Arc<dyn ExecutionPlan>) -> Vec<String> {
    let mut jobs = Vec::new();
    let _ = plan.apply(|node| {
        if let Some(exec) = node.downcast_ref::<DistributedQueryExec<LogicalPlanNode>>()
            && let Some(job) = exec.job_id()
        {
            jobs.push(job.to_string());
        }
        Ok(TreeNodeRecursion::Continue)
    });
    jobs
}

/// True while the scheduler lists `job` as queued or running; false once
/// it has ended (completed, failed, cancelled) or is unknown.
pub(crate) async fn job_runs(scheduler_url: &str, job: &str) -> Result<bool> {
    let Some(body) = get(scheduler_url, &format!("/api/job/{job}")).await? else {
        return Ok(false);
    };
    Ok(job_is_running(&body))
}

fn job_is_running(body: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|job| job["status"].as_str().map(str::to_string))
        .is_some_and(|status| status == "Running" || status == "Queued")
}

/// Rows the cluster jobs `jobs` have read from tables so far: the input
/// rows of their stages that read no other stage's output (the scans), as
/// the scheduler counts them when tasks finish. A job the scheduler does
/// not know (yet, or any more) counts nothing.
pub async fn rows_read(scheduler_url: &str, jobs: &[String]) -> Result<u64> {
    let mut rows = 0;
    for job in jobs {
        if let Some(body) = get(scheduler_url, &format!("/api/job/{job}/stages")).await? {
            rows += scan_rows(&body).map_err(|reason| Error::Scheduler {
                url: scheduler_url.to_string(),
                reason,
            })?;
        }
    }
    Ok(rows)
}

/// The input rows of the stages in Ballista's `/api/job/{id}/stages`
/// answer whose plan reads no shuffle; a stage not started yet has no plan
/// and counts nothing.
fn scan_rows(body: &[u8]) -> std::result::Result<u64, String> {
    let answer: serde_json::Value = serde_json::from_slice(body)
        .map_err(|e| format!("answered a job's stages with something else than JSON: {e}"))?;
    let stages = answer["stages"]
        .as_array()
        .ok_or("answered a job's stages without a list of stages")?;
    Ok(stages
        .iter()
        .filter(|stage| {
            stage["stage_plan"].as_str().is_some_and(|plan| {
                !plan.contains("ShuffleReaderExec") && !plan.contains("UnresolvedShuffleExec")
            })
        })
        .filter_map(|stage| stage["input_rows"].as_u64())
        .sum())
}

/// One worker as the scheduler knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    /// Ballista's id of the worker.
    pub id: String,
    /// Where its Flight service listens.
    pub host: String,
    /// Its Flight port.
    pub port: u16,
    /// Milliseconds since its last heartbeat, if it sent one.
    pub heartbeat_age_ms: Option<u64>,
}

/// The cluster as its scheduler sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClusterStatus {
    /// The workers registered now.
    pub workers: Vec<Worker>,
}

/// Asks the scheduler for its workers (Ballista's REST API, on the
/// scheduler's port).
pub async fn status(scheduler_url: &str) -> Result<ClusterStatus> {
    let body = get(scheduler_url, "/api/executors")
        .await?
        .ok_or_else(|| Error::Scheduler {
            url: scheduler_url.to_string(),
            reason: "has no /api/executors (is it a Ballista scheduler?)".into(),
        })?;
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    parse_workers(&body, now_ms).map_err(|reason| Error::Scheduler {
        url: scheduler_url.to_string(),
        reason,
    })
}

/// A GET of `path` on the scheduler's REST API: the body, or `None` when
/// the scheduler answers 404 Not Found.
async fn get(scheduler_url: &str, path: &str) -> Result<Option<bytes::Bytes>> {
    use hyper_util::client::legacy::Client;
    use hyper_util::rt::TokioExecutor;
    let failed = |reason: String| Error::Scheduler {
        url: scheduler_url.to_string(),
        reason,
    };
    let base = crate::planner::scheduler_address(scheduler_url)?;
    let uri: hyper::Uri = format!("{base}{path}")
        .parse()
        .map_err(|e| failed(format!("has an address that is not a URI: {e}")))?;
    let client =
        Client::builder(TokioExecutor::new()).build_http::<http_body_util::Empty<bytes::Bytes>>();
    let answer = async {
        let response = client
            .get(uri)
            .await
            .map_err(|e| failed(format!("cannot be reached: {e}")))?;
        let code = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| failed(format!("broke off its answer: {e}")))?
            .to_bytes();
        match code {
            hyper::StatusCode::NOT_FOUND => Ok(None),
            code if code.is_success() => Ok(Some(body)),
            code => Err(failed(format!("answered {code} to {path}"))),
        }
    };
    tokio::time::timeout(PATIENCE, answer)
        .await
        .map_err(|_| failed(format!("did not answer within {} s", PATIENCE.as_secs())))?
}

/// Ballista's list of executors; `last_seen` is the time of the last
/// heartbeat in milliseconds since the epoch.
fn parse_workers(body: &[u8], now_ms: u64) -> std::result::Result<ClusterStatus, String> {
    let list: Vec<serde_json::Value> = serde_json::from_slice(body)
        .map_err(|e| format!("answered /api/executors with something else than a list: {e}"))?;
    let workers = list
        .iter()
        .map(|w| Worker {
            id: w["id"].as_str().unwrap_or_default().to_string(),
            host: w["host"].as_str().unwrap_or_default().to_string(),
            port: w["port"]
                .as_u64()
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(0),
            heartbeat_age_ms: w["last_seen"].as_u64().map(|t| now_ms.saturating_sub(t)),
        })
        .collect();
    Ok(ClusterStatus { workers })
}

/// True when `plan` ships work to a cluster (it has a
/// `DistributedQueryExec`); plans of in-memory tables run locally.
pub fn ships(plan: &Arc<dyn ExecutionPlan>) -> bool {
    let mut found = false;
    let _ = plan.apply(|node| {
        found |= node
            .downcast_ref::<DistributedQueryExec<LogicalPlanNode>>()
            .is_some();
        Ok(if found {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    });
    found
}

impl ClusterStatus {
    /// The workers of `self` that `now` no longer lists.
    pub fn lost_in(&self, now: &ClusterStatus) -> Vec<String> {
        self.workers
            .iter()
            .filter(|w| !now.workers.iter().any(|n| n.id == w.id))
            .map(|w| w.id.clone())
            .collect()
    }
}

/// True when `error` says the link to the scheduler or a worker broke
/// (the scheduler went away mid-query), not that the query failed.
pub fn is_link_failure(error: &datafusion::error::DataFusionError) -> bool {
    const SIGNS: [&str; 7] = [
        "transport error",
        "h2 protocol error",
        "tcp connect error",
        "Stream closed without job completing",
        "The service is currently unavailable",
        "broken pipe",
        "Connection refused",
    ];
    let text = error.to_string();
    SIGNS.iter().any(|s| text.contains(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_while_queued_or_running() {
        let job = |status: &str| format!(r#"{{"job_id":"j","status":"{status}","num_stages":2}}"#);
        assert!(job_is_running(job("Running").as_bytes()));
        assert!(job_is_running(job("Queued").as_bytes()));
        assert!(!job_is_running(job("Failed").as_bytes()));
        assert!(!job_is_running(job("Completed").as_bytes()));
        assert!(!job_is_running(b"not json"));
    }

    #[test]
    fn the_rows_a_job_read_are_those_of_its_scan_stages() {
        let body = br#"{"stages":[
            {"stage_id":"1","stage_status":"Successful","input_rows":1000,"output_rows":40,
             "stage_plan":"ShuffleWriterExec\n  AggregateExec\n    DataSourceExec: file_groups={1 group}","tasks":[]},
            {"stage_id":"2","stage_status":"Successful","input_rows":500,"output_rows":10,
             "stage_plan":"ShuffleWriterExec\n  DataSourceExec: file_groups={1 group}","tasks":[]},
            {"stage_id":"3","stage_status":"Running","input_rows":50,"output_rows":0,
             "stage_plan":"ShuffleWriterExec\n  HashJoinExec\n    ShuffleReaderExec","tasks":[]},
            {"stage_id":"4","stage_status":"UnResolved","input_rows":0,"output_rows":0,"tasks":[]}]}"#;
        assert_eq!(scan_rows(body), Ok(1500));
        assert!(scan_rows(b"[]").is_err());
        assert!(scan_rows(b"<html>").is_err());
    }

    #[test]
    fn the_schedulers_worker_list_is_read() {
        let body = br#"[{"id":"w1","host":"127.0.0.1","port":50051,"last_seen":1764000000000,
            "specification":{"vcores":1},"metrics":[],"os_info":{}},
            {"id":"w2","host":"10.0.0.2","port":7001,"last_seen":null}]"#;
        let status = parse_workers(body, 1_764_000_001_200).expect("a list");
        assert_eq!(status.workers.len(), 2);
        assert_eq!(status.workers[0].port, 50051);
        assert_eq!(status.workers[0].heartbeat_age_ms, Some(1200));
        assert_eq!(status.workers[1].host, "10.0.0.2");
        assert_eq!(status.workers[1].heartbeat_age_ms, None);
        assert!(parse_workers(b"{}", 0).is_err());
    }

    #[test]
    fn lost_workers_are_those_no_longer_listed() {
        let w = |id: &str| Worker {
            id: id.into(),
            host: "h".into(),
            port: 1,
            heartbeat_age_ms: None,
        };
        let before = ClusterStatus {
            workers: vec![w("a"), w("b")],
        };
        let joined = ClusterStatus {
            workers: vec![w("b"), w("a"), w("c")],
        };
        assert!(before.lost_in(&joined).is_empty());
        let after = ClusterStatus {
            workers: vec![w("b"), w("c")],
        };
        assert_eq!(before.lost_in(&after), ["a"]);
    }

    #[test]
    fn a_broken_link_is_told_from_a_failed_query() {
        use datafusion::error::DataFusionError::Execution;
        let broken = Execution("code: 'Unknown error', message: \"h2 protocol error: error reading a body from connection\"".into());
        assert!(is_link_failure(&broken));
        assert!(!is_link_failure(&Execution(
            "Job 1 failed: Divide by zero error".into()
        )));
    }
}
