//! The order index on a vault of 100 000 orders, made with the library
//! (an import per station, so each is one group commit after another):
//! searches find what they should, and the index kept up to date by
//! refreshes equals one rebuilt from the logs from scratch.

use std::fs;
use std::path::Path;

use evault_core::{
    Actor, Dispute, DisputeReason, ImportOptions, Match, OrderId, OrderIndex, OrderQuery, Vault,
    order_from_folder,
};

const STATIONS: usize = 4;
const PER_STATION: usize = 25_000;

fn id(station: usize, i: usize) -> String {
    format!("ORD-{station}-{i:05}")
}

/// One small file per order, in a folder per order.
fn dump(dir: &Path, station: usize) {
    for i in 0..PER_STATION {
        let folder = dir.join(id(station, i));
        fs::create_dir_all(&folder).unwrap();
        fs::write(folder.join("label.txt"), format!("label {station} {i}")).unwrap();
    }
}

fn query(text: &str) -> OrderQuery {
    OrderQuery {
        text: Some(text.to_owned()),
        limit: 50,
        ..OrderQuery::default()
    }
}

#[test]
fn the_index_finds_orders_among_100000_and_a_rebuild_equals_the_maintained_one() {
    let dir = tempfile::tempdir().unwrap();
    let vault = Vault::init(dir.path().join("vault")).unwrap();
    for station in 0..STATIONS {
        let folder = dir.path().join(format!("dump-{station}"));
        dump(&folder, station);
        let actor = Actor::new(format!("op{station}"), format!("pack-0{station}")).unwrap();
        let report = vault
            .import(
                &folder,
                &order_from_folder,
                &ImportOptions::default(),
                &actor,
                &(),
            )
            .unwrap();
        assert_eq!(report.added(), PER_STATION);
        fs::remove_dir_all(&folder).unwrap();
    }

    // No index file yet: built from the logs, and saved.
    let (mut index, opened) = OrderIndex::open(&vault).unwrap();
    assert!(opened.rebuilt.is_some());
    assert_eq!(index.len(), STATIONS * PER_STATION);
    index.save(&vault).unwrap();

    // Exact (any case), prefix, substring; best matches first.
    let hits = index.search(&query("ord-2-01234"));
    assert_eq!(hits.total, 1);
    assert_eq!(hits.orders[0].0, Match::Exact);
    assert_eq!(hits.orders[0].1.order.as_str(), "ORD-2-01234");
    let hits = index.search(&query("ORD-3-0012"));
    assert_eq!(hits.total, 10);
    assert!(hits.orders.iter().all(|(m, _)| *m == Match::Prefix));
    let hits = index.search(&query("-01234"));
    assert_eq!(hits.total, STATIONS);
    assert!(
        hits.orders
            .iter()
            .all(|(m, o)| *m == Match::Substring && o.order.as_str().ends_with("-01234"))
    );
    // An exact match comes before the ids it is a prefix of.
    let hits = index.search(&query("ord-1-01234"));
    assert_eq!(hits.total, 1);
    vault
        .note(
            &"ORD-1-012345".parse().unwrap(),
            "x",
            &Actor::new("x", "y").unwrap(),
        )
        .unwrap();
    index.refresh(&vault).unwrap();
    let hits = index.search(&query("ord-1-01234"));
    let how: Vec<Match> = hits.orders.iter().map(|(m, _)| *m).collect();
    assert_eq!(how, [Match::Exact, Match::Prefix]);
    // Filters and paging.
    let station = OrderQuery {
        station: Some("PACK-02".into()),
        offset: PER_STATION - 10,
        limit: 50,
        ..OrderQuery::default()
    };
    let hits = index.search(&station);
    assert_eq!((hits.total, hits.orders.len()), (PER_STATION, 10));
    assert!(hits.orders.iter().all(|(_, o)| o.stations == ["pack-02"]));
    let operator = OrderQuery {
        operator: Some("op3".into()),
        text: Some("ord-0".into()),
        limit: 5,
        ..OrderQuery::default()
    };
    assert_eq!(index.search(&operator).total, 0);
    let tomorrow = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let later = OrderQuery {
        from: Some(tomorrow),
        limit: 5,
        ..OrderQuery::default()
    };
    assert_eq!(index.search(&later).total, 0);

    // Appends after the index was saved: notes, disputes, a new order.
    let desk = Actor::new("lin", "desk-1").unwrap();
    let order = |s: &str| -> OrderId { s.parse().unwrap() };
    for i in 0..5 {
        vault
            .note(&order(&id(0, i)), "buyer called", &desk)
            .unwrap();
    }
    for i in 0..3 {
        let dispute = Dispute {
            platform: "stripe".into(),
            reason: DisputeReason::NotReceived,
            case_id: Some(format!("dp_{i}")),
            amount: None,
            due: Some("2026-12-31".into()),
        };
        vault.dispute(&order(&id(1, i)), dispute, &desk).unwrap();
    }
    let new = evault_core::NewEvidence::from_reader("chat.txt", &b"hello"[..]);
    vault.add(&order("NEW-1"), vec![new], &desk).unwrap();

    let refreshed = index.refresh(&vault).unwrap();
    assert_eq!((refreshed.read, refreshed.dropped), (5 + 3 + 1, 0));
    let disputed = OrderQuery {
        has_dispute: Some(true),
        limit: 50,
        ..OrderQuery::default()
    };
    let hits = index.search(&disputed);
    assert_eq!(hits.total, 3);
    assert!(
        hits.orders
            .iter()
            .all(|(_, o)| o.open_disputes().count() == 1)
    );
    assert_eq!(index.search(&query("new-1")).total, 1);
    let scratch = OrderIndex::rebuild(&vault).unwrap();
    assert!(
        index.same_as(&scratch),
        "the maintained index differs from a rebuild"
    );

    // The saved file, refreshed on open, says the same.
    let (reopened, opened) = OrderIndex::open(&vault).unwrap();
    assert_eq!((opened.rebuilt.clone(), opened.read), (None, 10));
    assert!(reopened.same_as(&scratch));

    // A file that cannot be read is rebuilt, naming why.
    let file = vault.root().join("index/orders.jsonl");
    fs::write(
        &file,
        b"{\"index\":\"evault-order-index/1\",\"vault\":\"x\"}\nnot json\n",
    )
    .unwrap();
    let (rebuilt, opened) = OrderIndex::open(&vault).unwrap();
    assert!(
        opened
            .rebuilt
            .unwrap()
            .contains("not evault-order-index/1 of this vault")
    );
    assert!(rebuilt.same_as(&scratch));

    // A damaged log is listed, not indexed, and not searchable.
    let key = order(&id(3, 7)).storage_key();
    let manifest = vault
        .root()
        .join("orders")
        .join(&key)
        .join("manifest.jsonl");
    let mut bytes = fs::read(&manifest).unwrap();
    bytes.extend_from_slice(b"{not json}\n");
    fs::write(&manifest, bytes).unwrap();
    let mut index = rebuilt;
    index.refresh(&vault).unwrap();
    assert_eq!(index.damaged().len(), 1);
    assert_eq!(index.damaged()[0].0, key);
    assert_eq!(index.search(&query(&id(3, 7))).total, 0);
    assert_eq!(index.len(), STATIONS * PER_STATION + 1);
}
