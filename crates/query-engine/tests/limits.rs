//! The engine's limits and cancellation, on a query that would otherwise
//! run for minutes: a self-join of 100,000 positions on INTERSECTS of circles (10^10
//! pairs, a nested loop). Bounds here are generous (they prove that a query
//! stops rather than run on; how fast it stops is measured by `corvus
//! bench`), so the tests pass on a loaded two-core machine.

#![allow(clippy::unwrap_used)] // test helpers: a panic is a failed test

use catalog_model::AllowAll;
use query_engine::{
    CancelReason, CancellationToken, Completion, Engine, EngineConfig, Error, LaneConfig,
    QueryOptions,
};
use std::sync::Arc;
use std::time::{Duration, Instant};

const HEAVY: &str = "SELECT COUNT(*) FROM big.t AS a JOIN big.t AS b \
    ON 1 = INTERSECTS(CIRCLE(a.ra, a.dec, 0.001), CIRCLE(b.ra, b.dec, 0.001))";

/// An engine with one long slot, one place in line, and a table of
/// `rows` positions spread over the sky.
fn engine(rows: usize) -> Engine {
    let lane = LaneConfig {
        threads: 1,
        max_running: 1,
        max_waiting: 1,
    };
    let mut e = Engine::new(EngineConfig {
        quick: lane.clone(),
        long: lane,
        quick_rows: 1_000,
        memory_limit: Some(256 << 20),
        cluster: None,
        cluster_from_rows: 0,
        shared_data: None,
    })
    .unwrap();
    test_support::fixture::add_sky_table(&mut e, "big", "t", rows);
    e
}

/// Waits until no query runs; the time it took, or `None` past `within`.
async fn idle(engine: &Engine, within: Duration) -> Option<Duration> {
    let started = Instant::now();
    while started.elapsed() < within {
        let l = engine.load();
        if l.quick_running + l.long_running == 0 && l.memory_bytes == 0 {
            return Some(started.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_stops_a_query_before_its_first_row() {
    let engine = engine(100_000);
    let t = engine.translate(HEAVY, &AllowAll).unwrap();
    let cancel = CancellationToken::new();
    let options = QueryOptions {
        cancel: cancel.clone(),
        ..Default::default()
    };
    let mut stream = engine.execute(&t, options).await.unwrap();
    assert_eq!(stream.lane(), query_engine::Lane::Long);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(engine.load().long_running, 1);
    cancel.cancel();
    match stream.next().await {
        Some(Err(Error::Cancelled(CancelReason::Caller))) => {}
        other => panic!(
            "expected a cancellation, got {:?}",
            other.map(|r| r.map(|b| b.num_rows()))
        ),
    }
    let took = idle(&engine, Duration::from_secs(10)).await;
    assert!(
        took.is_some(),
        "the query still runs 10 s after its cancellation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_stream_stops_the_query() {
    let engine = engine(100_000);
    let t = engine.translate(HEAVY, &AllowAll).unwrap();
    let stream = engine.execute(&t, QueryOptions::default()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(stream);
    assert!(idle(&engine, Duration::from_secs(10)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_time_limit_ends_a_query_with_an_error_naming_it() {
    let engine = engine(100_000);
    let t = engine.translate(HEAVY, &AllowAll).unwrap();
    let options = QueryOptions {
        timeout: Some(Duration::from_millis(500)),
        ..Default::default()
    };
    let mut stream = engine.execute(&t, options).await.unwrap();
    let e = stream.next().await.unwrap().unwrap_err();
    assert!(matches!(e, Error::TimedOut { .. }), "{e}");
    assert_eq!(e.fault(), query_engine::Fault::Limit);
    assert!(idle(&engine, Duration::from_secs(10)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_cancels_running_and_waiting_queries_and_refuses_new_ones() {
    let engine = Arc::new(engine(100_000));
    let t = engine.translate(HEAVY, &AllowAll).unwrap();
    let mut running = engine.execute(&t, QueryOptions::default()).await.unwrap();
    // The second waits in line for the one slot.
    let waiting = {
        let (engine, t) = (Arc::clone(&engine), t.clone());
        tokio::spawn(async move {
            engine
                .execute(&t, QueryOptions::default())
                .await
                .map(|_| ())
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(engine.load().long_waiting, 1);
    // The third finds the line full.
    match engine.execute(&t, QueryOptions::default()).await {
        Err(e @ Error::Busy { .. }) => assert_eq!(e.fault(), query_engine::Fault::Busy),
        other => panic!("expected Busy, got {:?}", other.map(|_| ())),
    }
    engine.shut_down();
    assert!(matches!(
        running.next().await,
        Some(Err(Error::Cancelled(CancelReason::Shutdown)))
    ));
    assert!(matches!(
        waiting.await.unwrap(),
        Err(Error::Cancelled(CancelReason::Shutdown))
    ));
    assert!(matches!(
        engine.execute(&t, QueryOptions::default()).await,
        Err(Error::Cancelled(CancelReason::Shutdown))
    ));
    assert!(idle(&engine, Duration::from_secs(10)).await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_query_runs_beside_a_long_one_and_maxrec_marks_overflow() {
    let engine = engine(100_000);
    let heavy = engine.translate(HEAVY, &AllowAll).unwrap();
    let _long = engine
        .execute(&heavy, QueryOptions::default())
        .await
        .unwrap();
    let top = engine
        .translate("SELECT TOP 3 id FROM big.t", &AllowAll)
        .unwrap();
    let options = QueryOptions {
        maxrec: Some(2),
        ..Default::default()
    };
    let mut stream = engine.execute(&top, options).await.unwrap();
    assert_eq!(stream.lane(), query_engine::Lane::Quick);
    let mut rows = 0;
    // Starved behind the long query, this would hang; it must not.
    let read = async {
        while let Some(batch) = stream.next().await {
            rows += batch.unwrap().num_rows();
        }
    };
    tokio::time::timeout(Duration::from_secs(30), read)
        .await
        .expect("the quick query is stuck behind the long one");
    assert_eq!(rows, 2);
    assert_eq!(stream.completion(), Some(Completion::Overflow));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_their_kind() {
    let engine = engine(10);
    let t = engine
        .translate("SELECT id / 0 FROM big.t", &AllowAll)
        .unwrap();
    let e = engine
        .collect(&t, QueryOptions::default())
        .await
        .unwrap_err();
    assert_eq!(e.fault(), query_engine::Fault::User, "{e:?}");
    assert!(e.user_message().contains("zero"), "{}", e.user_message());
}
