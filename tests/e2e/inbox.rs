//! The request inbox of a user who may take few of many waiting items: the service passes over
//! the items the user's roles do not allow (read in chunks that grow) and still pages exactly.
//! The authorities are those of `requests.rs`: `fr-ca` uses allocation, so a request it
//! receives waits for its allocator, not for its handler.

use crate::demo::inbox_page;
use crate::harness::{start, Service};
use crate::requests::{dispatch, scene, step};
use serde_json::json;

/// More waiting items than the first reads of a one-entry page hold (2, then 8): the reads
/// that find nothing for the user must grow and go on to the end.
const WAITING: usize = 30;

/// Every entry of `token`'s inbox as (request, action), read `first` at a time, and the number
/// of pages it took; each page but the last must say that more follow.
async fn paged(service: &Service, token: &str, first: i32) -> (Vec<(String, String)>, usize) {
    let mut entries = Vec::new();
    let mut after = None;
    for pages in 1.. {
        let (page, more, end) = inbox_page(service, token, first, after).await;
        assert!(page.len() <= first as usize, "a page beyond its size");
        for node in &page {
            entries.push((
                node["requestId"].as_str().unwrap().to_string(),
                node["action"].as_str().unwrap().to_string(),
            ));
        }
        if !more {
            return (entries, pages);
        }
        assert!(!page.is_empty(), "an empty page that says more follow");
        after = end;
    }
    unreachable!()
}

fn id(n: usize) -> String {
    format!("r-{n:02}")
}

#[tokio::test]
async fn an_inbox_passes_over_the_many_items_its_user_may_not_take() {
    let service = start().await;
    let t = scene(&service).await;
    // WAITING requests reach fr-ca one after the other (drafted, sent, approved by the German
    // coordinator): each waits there for an allocator to assign it.
    for n in 0..WAITING {
        let draft = json!({
            "requestId": id(n),
            "area": "PQ",
            "content": {
                "questionSet": "PQ-GEN",
                "questions": ["PQ-GEN-01"],
                "subject": { "name": format!("Subject {n}"), "birthDate": "1980-01-01" },
                "proposedAnswerDate": "2030-06-01",
                "respondingAuthority": "fr-ca"
            }
        });
        dispatch(&service, &t, draft).await;
    }
    let assign = |n: usize| (id(n), "assign".to_string());

    // The handler may take none of them: an empty inbox that says nothing more follows, at
    // every page size.
    for first in [1, 3, 100] {
        assert_eq!(paged(&service, &t.fr_handler, first).await, (vec![], 1));
    }
    // The allocator may take them all, in the order they arrived, each once, at every size.
    let all: Vec<(String, String)> = (0..WAITING).map(assign).collect();
    assert_eq!(
        paged(&service, &t.fr_allocator, 100).await,
        (all.clone(), 1)
    );
    assert_eq!(paged(&service, &t.fr_allocator, 1).await.0, all);
    assert_eq!(paged(&service, &t.fr_allocator, 7).await, (all.clone(), 5));

    // The last to arrive is assigned to the handler: the one item among many it may take is
    // found on its first page, whatever the page's size, and nothing more is said to follow.
    let last = WAITING - 1;
    step(
        &service,
        &t.fr_allocator,
        "assignRequest",
        "AssignRequestInput",
        json!({ "requestId": id(last), "handlers": ["fr-handler"] }),
    )
    .await;
    for first in [1, 2, 100] {
        assert_eq!(
            paged(&service, &t.fr_handler, first).await,
            (vec![(id(last), "accept".to_string())], 1),
            "first: {first}"
        );
    }
    let rest: Vec<(String, String)> = (0..last).map(assign).collect();
    assert_eq!(paged(&service, &t.fr_allocator, 4).await.0, rest);
}
