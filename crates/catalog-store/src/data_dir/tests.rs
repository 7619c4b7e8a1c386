//! Each rule of the locking protocol, in one process: two opens of a lock
//! file conflict like two processes do, and a lock file nobody has open is
//! exactly what a killed process leaves.

#![allow(clippy::unwrap_used)] // a panic is a failed test

use super::*;
use catalog_model::{AdqlType, Catalog, ColumnInfo, ColumnMeta, TableInfo};

fn record(schema: &str, name: &str, rows: u64) -> TableRecord {
    TableRecord {
        info: TableInfo {
            schema: schema.into(),
            name: name.into(),
            description: Some("test".into()),
            columns: vec![ColumnInfo {
                name: "ra".into(),
                ty: AdqlType::Double,
                meta: ColumnMeta {
                    unit: Some("deg".into()),
                    ucd: Some("pos.eq.ra;meta.main".into()),
                    principal: Some(true),
                    ..Default::default()
                },
            }],
            position: None,
            layout: Default::default(),
        },
        row_count: rows,
        size_bytes: 0,
        directory: PathBuf::new(),
    }
}

fn staged(dir: &DataDir) -> Staging {
    let s = dir.staging_folder().unwrap();
    std::fs::write(s.path().join("part-0.parquet"), b"data").unwrap();
    s
}

fn publish(dir: &mut DataDir, rows: u64) -> PathBuf {
    let s = staged(dir);
    dir.publish(s, record("hip", "main", rows), Replace::Yes)
        .unwrap()
        .directory
}

/// What is left in `tables/.staging`, by name.
fn staging_entries(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("tables/.staging"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn publish_replace_drop_and_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let s = staged(&dir);
    let first = dir
        .publish(s, record("hip", "main", 10), Replace::No)
        .unwrap();
    assert!(first.directory.join("part-0.parquet").exists());
    // A second publish without replace is refused, changes nothing, and
    // removes what it staged.
    let s2 = staged(&dir);
    let s2_path = s2.path().to_path_buf();
    assert!(matches!(
        dir.publish(s2, record("hip", "main", 20), Replace::No),
        Err(Error::TableExists(_))
    ));
    assert!(!s2_path.exists());
    assert_eq!(dir.record("hip", "main").unwrap().unwrap().row_count, 10);
    // Replace swaps in the new version and removes the old files.
    let s3 = staged(&dir);
    let second = dir
        .publish(s3, record("hip", "main", 20), Replace::Yes)
        .unwrap();
    assert!(!first.directory.exists());
    assert!(!layout::lease(&first.directory).exists());
    assert!(staging_entries(tmp.path()).is_empty());
    drop(dir);
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let rec = dir.record("hip", "main").unwrap().unwrap();
    assert_eq!(rec.row_count, 20);
    assert_eq!(rec.directory, second.directory);
    assert_eq!(rec.info.columns[0].meta.unit.as_deref(), Some("deg"));
    assert_eq!(rec.info.columns[0].meta.principal, Some(true));
    assert_eq!(dir.catalog().unwrap().tables().len(), 1);
    dir.drop_table("hip", "main").unwrap();
    assert!(!second.directory.exists());
    // Nothing is left of the table, not even its folders.
    assert!(!tmp.path().join("tables/hip").exists());
    assert!(matches!(
        dir.drop_table("hip", "main"),
        Err(Error::NoSuchTable(_))
    ));
}

#[test]
fn a_live_writers_staging_survives_another_open() {
    let tmp = tempfile::tempdir().unwrap();
    let writer = DataDir::open(tmp.path()).unwrap();
    let s = staged(&writer);
    // Another process opens the directory while the ingest writes.
    DataDir::open(tmp.path()).unwrap();
    assert!(s.path().join("part-0.parquet").exists());
    // Its lock file too, so a third open still sees a live writer.
    DataDir::open(tmp.path()).unwrap();
    assert!(s.path().exists());
    // The writer gives up: its own drop removes folder and lock file.
    drop(s);
    assert!(staging_entries(tmp.path()).is_empty());
}

#[test]
fn a_dead_writers_staging_is_removed_on_open() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = DataDir::open(tmp.path()).unwrap();
    let staging = tmp.path().join("tables/.staging");
    // What `kill -9` leaves: the folder and its lock file, locked by no one.
    std::fs::create_dir_all(staging.join("1-dead/sub")).unwrap();
    std::fs::write(staging.join("1-dead/part-0.parquet#1"), b"half").unwrap();
    std::fs::write(staging.join("1-dead.lock"), b"").unwrap();
    // Killed after publish moved the folder, before it removed the lock.
    std::fs::write(staging.join("2-moved.lock"), b"").unwrap();
    // From a Corvus without staging locks.
    std::fs::create_dir_all(staging.join("3-old")).unwrap();
    // A live writer beside them.
    let live = staged(&dir);
    drop(dir);
    DataDir::open(tmp.path()).unwrap();
    let live_name = live
        .path()
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert_eq!(
        staging_entries(tmp.path()),
        vec![live_name.clone(), format!("{live_name}.lock")]
    );
}

#[test]
fn an_orphan_version_is_removed_only_when_unleased() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let live = publish(&mut dir, 10);
    // A version no row points to: a publish killed between rename and commit.
    let orphan = live.with_file_name("vdeadbeef");
    std::fs::create_dir_all(&orphan).unwrap();
    // ... and one some reader still holds.
    let leased = live.with_file_name("vread");
    std::fs::create_dir_all(&leased).unwrap();
    let lease = locks::shared(&layout::lease(&leased)).unwrap().unwrap();
    // A lease file whose folder is gone.
    let stray = live.with_file_name("vgone.lease");
    std::fs::write(&stray, b"").unwrap();
    drop(dir);
    DataDir::open(tmp.path()).unwrap();
    assert!(!orphan.exists());
    assert!(!layout::lease(&orphan).exists());
    assert!(!stray.exists());
    assert!(leased.exists());
    assert!(live.join("part-0.parquet").exists());
    drop(lease);
    DataDir::open(tmp.path()).unwrap();
    assert!(!leased.exists());
    assert!(!layout::lease(&leased).exists());
    assert!(live.exists());
}

#[test]
fn a_leftover_that_cannot_be_removed_is_a_warning_and_the_rest_is_cleaned() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let live = publish(&mut dir, 10);
    drop(dir);
    // Leftovers that resist removal whatever the permissions (these tests
    // may run as root): a folder where a dead writer's staging lock file
    // should be, and one where an orphan version's lease file should be.
    let staging = tmp.path().join("tables/.staging");
    std::fs::create_dir_all(staging.join("1-stuck.lock")).unwrap();
    let stuck = live.with_file_name("vstuck");
    std::fs::create_dir_all(&stuck).unwrap();
    std::fs::create_dir_all(layout::lease(&stuck)).unwrap();
    // Beside them, leftovers that can go.
    std::fs::create_dir_all(staging.join("2-dead")).unwrap();
    std::fs::write(staging.join("2-dead.lock"), b"").unwrap();
    let orphan = live.with_file_name("vorphan");
    std::fs::create_dir_all(&orphan).unwrap();

    let dir = DataDir::open(tmp.path()).unwrap();
    let warnings = dir.cleanup_warnings();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings[0].contains("1-stuck.lock") && warnings[0].contains("could not be cleaned up"),
        "{warnings:?}"
    );
    assert!(warnings[1].contains("vstuck.lease"), "{warnings:?}");
    // The rest was cleaned, and the directory serves its tables.
    assert_eq!(staging_entries(tmp.path()), vec!["1-stuck.lock"]);
    assert!(!orphan.exists());
    assert_eq!(dir.records().unwrap().len(), 1);
    assert_eq!(dir.snapshot().unwrap().records.len(), 1);
}

#[test]
fn open_leaves_versions_alone_while_someone_publishes() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let live = publish(&mut dir, 10);
    // A publisher between its rename and its commit: the new version is in
    // place, no row points to it yet, and the publish lock is held.
    let publishing = locks::exclusive(&layout::publish_lock(tmp.path())).unwrap();
    let renamed = live.with_file_name("vrenamed");
    std::fs::create_dir_all(&renamed).unwrap();
    // Open does not wait for the lock, and does not touch the version.
    DataDir::open(tmp.path()).unwrap();
    assert!(renamed.exists());
    // The publisher dies: the next open removes its version.
    drop(publishing);
    DataDir::open(tmp.path()).unwrap();
    assert!(!renamed.exists());
    assert!(live.exists());
}

#[test]
fn a_publish_during_a_lease_keeps_the_old_version_until_the_lease_is_dropped() {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer = DataDir::open(tmp.path()).unwrap();
    let old = publish(&mut writer, 10);
    // A service reads the table.
    let reader = DataDir::open(tmp.path()).unwrap();
    let snapshot = reader.snapshot().unwrap();
    assert_eq!(snapshot.record("hip", "main").unwrap().directory, old);
    // An ingest --replace publishes a new version.
    let new = publish(&mut writer, 20);
    assert_ne!(new, old);
    assert_eq!(writer.record("hip", "main").unwrap().unwrap().row_count, 20);
    assert!(
        old.join("part-0.parquet").exists(),
        "removed under a reader"
    );
    // Neither another open nor another publish removes it while leased.
    DataDir::open(tmp.path()).unwrap();
    let newer = publish(&mut writer, 30);
    assert!(old.exists());
    assert!(
        !new.exists(),
        "an unread replaced version is removed at once"
    );
    // A snapshot taken now sees the newest version only.
    let later = reader.snapshot().unwrap();
    assert_eq!(later.record("hip", "main").unwrap().directory, newer);
    // The service stops: the next open removes the old version.
    drop(snapshot);
    assert!(old.exists());
    DataDir::open(tmp.path()).unwrap();
    assert!(!old.exists());
    assert!(newer.exists());
    // A dropped table's files wait for its reader in the same way.
    writer.drop_table("hip", "main").unwrap();
    assert!(newer.exists());
    drop(later);
    let s = staged(&writer);
    writer
        .publish(s, record("hip", "other", 1), Replace::No)
        .unwrap();
    assert!(!newer.exists(), "the next publish removes it");
}

#[test]
fn a_snapshot_of_one_table_leases_that_table_only() {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer = DataDir::open(tmp.path()).unwrap();
    let main = publish(&mut writer, 10);
    let other = {
        let s = staged(&writer);
        let r = writer.publish(s, record("gaia", "src", 5), Replace::No);
        r.unwrap().directory
    };
    // An append to hip.main holds its version ...
    let appender = DataDir::open(tmp.path()).unwrap();
    let one = appender.snapshot_of("hip", "main").unwrap();
    assert_eq!(one.records.len(), 1);
    assert_eq!(one.record("hip", "main").unwrap().directory, main);
    assert!(
        appender
            .snapshot_of("hip", "none")
            .unwrap()
            .records
            .is_empty()
    );
    // ... and not gaia.src's: replacing that one removes its old version
    // at once, while hip.main's replaced version stays for the appender.
    let s = staged(&writer);
    writer
        .publish(s, record("gaia", "src", 6), Replace::Yes)
        .unwrap();
    assert!(!other.exists(), "a table the append does not read was held");
    publish(&mut writer, 20);
    assert!(main.join("part-0.parquet").exists());
    drop(one);
    DataDir::open(tmp.path()).unwrap();
    assert!(!main.exists());
}

#[test]
fn a_snapshot_reports_a_table_whose_files_are_gone() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let live = publish(&mut dir, 10);
    std::fs::remove_dir_all(&live).unwrap();
    let err = dir.snapshot().unwrap_err();
    assert!(
        matches!(&err, Error::Damaged { table, .. } if table == "hip.main"),
        "{err}"
    );
    assert!(err.to_string().contains("drop it and ingest it again"));
}

#[test]
fn the_same_directory_under_another_spelling_keeps_its_versions() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let live = publish(&mut dir, 10);
    // `corvus tables --data ./data` beside `corvus serve --data /srv/data`.
    let other = tmp.path().join("tables/..");
    let dir2 = DataDir::open(&other).unwrap();
    assert!(live.exists());
    assert_eq!(dir2.snapshot().unwrap().records.len(), 1);
}

#[test]
fn rows_that_name_a_whole_path_still_find_their_folder() {
    // Catalogs written before version folders were named relative to the
    // data directory hold the path as the writer spelled it.
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let live = publish(&mut dir, 10);
    dir.db
        .execute(
            "UPDATE tables SET directory = ?1",
            [format!(
                "/elsewhere/tables/hip/main/{}",
                live.file_name().unwrap().to_string_lossy()
            )],
        )
        .unwrap();
    drop(dir);
    let dir = DataDir::open(tmp.path()).unwrap();
    assert!(live.exists());
    assert_eq!(dir.snapshot().unwrap().records[0].directory, live);
}

#[test]
fn writers_in_several_threads_wait_for_each_other() {
    let tmp = tempfile::tempdir().unwrap();
    DataDir::open(tmp.path()).unwrap();
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let root = tmp.path().to_path_buf();
            std::thread::spawn(move || {
                for i in 0..10 {
                    let mut dir = DataDir::open(&root).unwrap();
                    let s = staged(&dir);
                    let name = format!("t{t}");
                    dir.publish(s, record("many", &name, i), Replace::Yes)
                        .unwrap();
                    dir.snapshot().unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let dir = DataDir::open(tmp.path()).unwrap();
    let records = dir.records().unwrap();
    assert_eq!(records.len(), 4);
    assert!(records.iter().all(|r| r.row_count == 9));
    // One version folder per table, and its lease file.
    for r in &records {
        let table_dir = r.directory.parent().unwrap();
        assert_eq!(std::fs::read_dir(table_dir).unwrap().count(), 2);
    }
}

#[test]
fn a_publish_waits_for_another_processes_sqlite_write() {
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    // Another process's write transaction, open when the publish starts.
    let other = Connection::open(tmp.path().join("state.sqlite")).unwrap();
    other.execute_batch("BEGIN IMMEDIATE").unwrap();
    let release = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(300));
        other.execute_batch("COMMIT").unwrap();
    });
    // Without a busy timeout this fails at once with SQLITE_BUSY.
    let s = staged(&dir);
    dir.publish(s, record("hip", "main", 1), Replace::No)
        .unwrap();
    release.join().unwrap();
    assert!(dir.exists("hip", "main").unwrap());
}

#[test]
fn several_openers_create_one_directory_at_once() {
    // The switch to WAL refuses at once while another connection has the
    // new database open: a race, so run it many times.
    for _ in 0..50 {
        let tmp = tempfile::tempdir().unwrap();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(4));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (root, barrier) = (tmp.path().to_path_buf(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    DataDir::open(&root).map(|d| d.records().map(|r| r.len()))
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap().unwrap().unwrap(), 0);
        }
    }
}

#[test]
fn a_version_built_from_a_replaced_one_is_not_published() {
    // An append builds on the version it read; if another writer replaced
    // the table meanwhile, publishing would drop that writer's rows.
    let tmp = tempfile::tempdir().unwrap();
    let mut dir = DataDir::open(tmp.path()).unwrap();
    let read = publish(&mut dir, 10);
    let replaced = publish(&mut dir, 20);
    let s = staged(&dir);
    assert!(matches!(
        dir.publish(s, record("hip", "main", 30), Replace::IfStill(read)),
        Err(Error::Changed(_))
    ));
    assert_eq!(dir.record("hip", "main").unwrap().unwrap().row_count, 20);
    // Built from the current version, it is.
    let s = staged(&dir);
    dir.publish(s, record("hip", "main", 30), Replace::IfStill(replaced))
        .unwrap();
    assert_eq!(dir.record("hip", "main").unwrap().unwrap().row_count, 30);
}
