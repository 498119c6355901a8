//! Drafting, updating and sending a request; its approval by the request coordinator.

use super::support::*;
use crate::authority::{AuthorityStatus, Flag};
use crate::error::DomainError;
use crate::request::*;

fn draft_with(change: impl FnOnce(&mut RequestContent)) -> RequestCommand {
    let mut c = content();
    change(&mut c);
    RequestCommand::Draft {
        request_id: ID.into(),
        area: pq(),
        content: c,
    }
}

async fn draft_refused(command: RequestCommand, error: DomainError) {
    given(vec![])
        .when_async(issued(de_handler(), command))
        .await
        .then_expect_error(error);
}

#[tokio::test]
async fn a_request_handler_drafts_a_request_with_its_only_coordinator() {
    given(vec![])
        .when_async(issued(de_handler(), draft_command()))
        .await
        .then_expect_events(drafted());
}

#[tokio::test]
async fn linked_to_several_coordinators_the_drafter_chooses_one() {
    let services = services().with_authority(with_coordinators(de_ca(), &["de-rc", "de-rc2"]));
    let mut expected = drafted();
    if let RequestEvent::RequestDrafted {
        requesting, draft, ..
    } = &mut expected[0]
    {
        requesting.linked_coordinators = ids(&["de-rc", "de-rc2"]);
        draft.request_coordinator = "de-rc2".into();
    }
    given_in(services, vec![])
        .when_async(issued(
            de_handler(),
            draft_with(|c| c.request_coordinator = Some("de-rc2".into())),
        ))
        .await
        .then_expect_events(expected);
}

#[tokio::test]
async fn linked_to_several_coordinators_a_draft_without_a_choice_is_invalid() {
    let services = services().with_authority(with_coordinators(de_ca(), &["de-rc", "de-rc2"]));
    given_in(services, vec![])
        .when_async(issued(de_handler(), draft_command()))
        .await
        .then_expect_error(DomainError::invalid(
            "the authority is linked to several request coordinators in PQ: choose one for this \
             request",
        ));
}

#[tokio::test]
async fn the_chosen_coordinator_must_be_linked() {
    draft_refused(
        draft_with(|c| c.request_coordinator = Some("de-rc2".into())),
        DomainError::invalid("de-rc2 is not a request coordinator linked to the authority in PQ"),
    )
    .await;
}

#[tokio::test]
async fn an_authority_without_linked_coordinator_cannot_draft() {
    let services = services().with_authority(with_coordinators(de_ca(), &[]));
    given_in(services, vec![])
        .when_async(issued(de_handler(), draft_command()))
        .await
        .then_expect_error(DomainError::refused(
            "the authority has no linked request coordinator in PQ",
        ));
}

#[tokio::test]
async fn a_request_is_drafted_once() {
    given(drafted())
        .when_async(issued(de_handler(), draft_command()))
        .await
        .then_expect_error(DomainError::refused(crate::request::ID_TAKEN));
}

#[tokio::test]
async fn a_request_needs_an_id() {
    draft_refused(
        RequestCommand::Draft {
            request_id: " ".into(),
            area: pq(),
            content: content(),
        },
        DomainError::invalid("a request needs an id"),
    )
    .await;
}

#[tokio::test]
async fn the_area_must_be_known() {
    draft_refused(
        RequestCommand::Draft {
            request_id: ID.into(),
            area: crate::authority::LegislativeArea::parse("XX").unwrap(),
            content: content(),
        },
        DomainError::not_found("unknown legislative area XX"),
    )
    .await;
}

#[tokio::test]
async fn the_area_must_have_a_request_workflow() {
    draft_refused(
        RequestCommand::Draft {
            request_id: ID.into(),
            area: crate::authority::LegislativeArea::parse("ECOM").unwrap(),
            content: content(),
        },
        DomainError::invalid("ECOM has no information request workflow"),
    )
    .await;
}

#[tokio::test]
async fn only_a_request_handler_drafts() {
    given(vec![])
        .when_async(issued(de_viewer(), draft_command()))
        .await
        .then_expect_error(DomainError::forbidden(
            "only a request handler in PQ of the requesting authority may take this step",
        ));
}

#[tokio::test]
async fn an_authority_without_the_request_workflow_cannot_draft() {
    given(vec![])
        .when_async(issued(
            as_user("fr-nopq-handler", "fr-nopq"),
            draft_command(),
        ))
        .await
        .then_expect_error(DomainError::forbidden(
            "the authority has no access to the request workflow in PQ",
        ));
}

#[tokio::test]
async fn a_deactivated_user_cannot_draft() {
    let mut ca = de_ca();
    ca.users.get_mut("de-handler").unwrap().active = false;
    given_in(services().with_authority(ca), vec![])
        .when_async(issued(de_handler(), draft_command()))
        .await
        .then_expect_error(DomainError::forbidden("the acting user is deactivated"));
}

#[tokio::test]
async fn an_authority_not_validated_cannot_draft() {
    let mut ca = de_ca();
    ca.status = AuthorityStatus::AwaitingValidation;
    given_in(services().with_authority(ca), vec![])
        .when_async(issued(de_handler(), draft_command()))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority is not validated yet: it cannot work in IMI before its \
             coordinator validates it",
        ));
}

#[tokio::test]
async fn an_unregistered_authority_cannot_draft() {
    given(vec![])
        .when_async(issued(as_user("x", "nowhere"), draft_command()))
        .await
        .then_expect_error(DomainError::forbidden(
            "the acting authority is not registered",
        ));
}

#[tokio::test]
async fn the_system_does_not_draft() {
    given(vec![])
        .when_async(issued(scheduler(), draft_command()))
        .await
        .then_expect_error(DomainError::forbidden("this command is issued by a user"));
}

#[tokio::test]
async fn the_question_set_must_exist() {
    draft_refused(
        draft_with(|c| c.question_set = "PQ-NONE".into()),
        DomainError::not_found("no question set PQ-NONE"),
    )
    .await;
}

#[tokio::test]
async fn the_question_set_must_be_the_areas() {
    draft_refused(
        draft_with(|c| {
            c.question_set = "SD-GEN".into();
            c.questions = ids(&["SD-GEN-01"]);
        }),
        DomainError::invalid("the question set SD-GEN belongs to SD, not PQ"),
    )
    .await;
}

#[tokio::test]
async fn at_least_one_question_is_selected() {
    draft_refused(
        draft_with(|c| c.questions.clear()),
        DomainError::invalid("select at least one question of the question set"),
    )
    .await;
}

#[tokio::test]
async fn questions_come_from_the_question_set() {
    draft_refused(
        draft_with(|c| c.questions = ids(&["PQ-GEN-01", "SD-GEN-01"])),
        DomainError::invalid("SD-GEN-01 is not a question of the question set PQ-GEN"),
    )
    .await;
}

#[tokio::test]
async fn the_subject_is_sealed_under_the_requests_key() {
    draft_refused(
        draft_with(|c| c.subject = foreign_sealed()),
        DomainError::invalid("the subject must be sealed under the request's own key"),
    )
    .await;
}

#[tokio::test]
async fn the_free_text_is_sealed_under_the_requests_key() {
    draft_refused(
        draft_with(|c| c.free_text = Some(foreign_sealed())),
        DomainError::invalid("the free text must be sealed under the request's own key"),
    )
    .await;
}

#[tokio::test]
async fn attachments_are_limited_in_number() {
    let many: Vec<Attachment> = "0123456789abcdef0123"
        .chars()
        .enumerate()
        .map(|(i, _)| {
            let mut a = attachment('0');
            a.sha256 = format!("{:064x}", i + 1);
            a
        })
        .chain([attachment('f')])
        .collect();
    assert_eq!(many.len(), MAX_ATTACHMENTS + 1);
    draft_refused(
        draft_with(|c| c.attachments = many),
        DomainError::invalid("at most 20 attachments are accepted at once"),
    )
    .await;
}

#[tokio::test]
async fn an_attachment_is_addressed_by_its_sha256() {
    let mut a = attachment('a');
    a.sha256 = "A".repeat(64);
    draft_refused(
        draft_with(|c| c.attachments = vec![a]),
        DomainError::invalid("an attachment's SHA-256 must be 64 lower-case hexadecimal digits"),
    )
    .await;
}

#[tokio::test]
async fn an_attachment_is_not_empty() {
    let mut a = attachment('a');
    a.size = 0;
    draft_refused(
        draft_with(|c| c.attachments = vec![a]),
        DomainError::invalid("an attachment must not be empty"),
    )
    .await;
}

#[tokio::test]
async fn an_attachment_is_limited_in_size() {
    let mut a = attachment('a');
    a.size = MAX_ATTACHMENT_BYTES + 1;
    draft_refused(
        draft_with(|c| c.attachments = vec![a]),
        DomainError::invalid("an attachment is larger than 10485760 bytes"),
    )
    .await;
}

#[tokio::test]
async fn an_attachment_has_an_accepted_type() {
    let mut a = attachment('a');
    a.media_type = "application/x-msdownload".into();
    draft_refused(
        draft_with(|c| c.attachments = vec![a]),
        DomainError::invalid("attachments of type \"application/x-msdownload\" are not accepted"),
    )
    .await;
}

#[tokio::test]
async fn an_attachment_is_attached_once() {
    draft_refused(
        draft_with(|c| c.attachments = vec![attachment('a'), attachment('a')]),
        DomainError::invalid("the same attachment is attached twice"),
    )
    .await;
}

#[tokio::test]
async fn an_attachments_name_is_sealed_under_the_requests_key() {
    let mut a = attachment('a');
    a.name = foreign_sealed();
    draft_refused(
        draft_with(|c| c.attachments = vec![a]),
        DomainError::invalid("an attachment's name must be sealed under the request's own key"),
    )
    .await;
}

#[tokio::test]
async fn the_proposed_answer_date_is_after_today() {
    draft_refused(
        draft_with(|c| c.proposed_answer_date = now().date_naive()),
        DomainError::invalid("the proposed answer date must be after today"),
    )
    .await;
}

#[tokio::test]
async fn the_responding_authority_must_exist() {
    draft_refused(
        draft_with(|c| c.responding_authority = "nowhere".into()),
        DomainError::not_found("no authority nowhere"),
    )
    .await;
}

#[tokio::test]
async fn the_responding_authority_must_be_validated() {
    draft_refused(
        draft_with(|c| c.responding_authority = "fr-pending".into()),
        DomainError::refused("the authority fr-pending is not validated yet"),
    )
    .await;
}

#[tokio::test]
async fn the_responding_authority_must_have_the_request_workflow_of_the_area() {
    draft_refused(
        draft_with(|c| c.responding_authority = "fr-nopq".into()),
        DomainError::refused("the authority fr-nopq has no access to the request workflow in PQ"),
    )
    .await;
}

#[tokio::test]
async fn the_responding_authority_is_in_another_member_state() {
    draft_refused(
        draft_with(|c| c.responding_authority = "de-other".into()),
        DomainError::refused("the responding authority must be in another Member State"),
    )
    .await;
}

#[tokio::test]
async fn without_question_sets_nothing_is_decided() {
    given_in(services().question_sets_unavailable(), vec![])
        .when_async(issued(de_handler(), draft_command()))
        .await
        .then_expect_error(DomainError::refused(
            "the authority directory is temporarily unavailable; try again",
        ));
}

// --- Updating the draft -----------------------------------------------------------------

#[tokio::test]
async fn the_draft_is_rewritten() {
    let mut c = content();
    c.responding_authority = "it-ca".into();
    c.questions = ids(&["PQ-GEN-03"]);
    let it_ca = directory_summary("it-ca");
    let mut draft = draft_content();
    draft.responding = party(&it_ca);
    draft.questions = ids(&["PQ-GEN-03"]);
    given(drafted())
        .when_async(issued(
            de_handler(),
            RequestCommand::UpdateDraft { content: c },
        ))
        .await
        .then_expect_events(vec![RequestEvent::DraftUpdated { draft, at: now() }]);
}

fn directory_summary(id: &str) -> crate::authority::AuthoritySummary {
    directory().get(id).cloned().unwrap()
}

#[tokio::test]
async fn a_sent_request_is_not_rewritten() {
    given(sent())
        .when_async(issued(
            de_handler(),
            RequestCommand::UpdateDraft { content: content() },
        ))
        .await
        .then_expect_error(DomainError::refused(
            "only a draft is changed: the request was sent",
        ));
}

#[tokio::test]
async fn an_updated_draft_is_checked_like_a_new_one() {
    let mut c = content();
    c.subject = foreign_sealed();
    given(drafted())
        .when_async(issued(
            de_handler(),
            RequestCommand::UpdateDraft { content: c },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the subject must be sealed under the request's own key",
        ));
}

#[tokio::test]
async fn an_unknown_request_is_not_found() {
    given(vec![])
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_error(DomainError::not_found("no such request"));
}

// --- Sending and approval ---------------------------------------------------------------

#[tokio::test]
async fn without_approval_the_request_goes_to_the_responding_authority() {
    given(drafted())
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_events(vec![RequestEvent::RequestSent {
            responding: party(&fr_ca()),
            at: now(),
        }]);
}

fn with_request_approval() -> crate::request::testing::InMemoryRequestServices {
    services().with_authority(with_flags(de_ca(), &[Flag::ApprovalOfNewRequests]))
}

#[tokio::test]
async fn with_approval_the_request_goes_to_the_request_coordinator() {
    given_in(with_request_approval(), drafted())
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_events(vec![RequestEvent::RequestSubmittedForApproval {
            coordinator: "de-rc".into(),
            at: now(),
        }]);
}

fn awaiting_approval() -> Vec<RequestEvent> {
    with(
        drafted(),
        RequestEvent::RequestSubmittedForApproval {
            coordinator: "de-rc".into(),
            at: now(),
        },
    )
}

#[tokio::test]
async fn a_request_awaiting_approval_is_not_sent_again() {
    given(awaiting_approval())
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_error(DomainError::refused(
            "the request already awaits its coordinator's approval",
        ));
}

#[tokio::test]
async fn a_request_is_sent_once() {
    given(sent())
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_error(DomainError::refused("the request was already sent"));
}

#[tokio::test]
async fn a_withdrawn_request_is_not_sent() {
    let events = with(
        drafted(),
        RequestEvent::RequestWithdrawn {
            reason: "error".into(),
            at: now(),
        },
    );
    given(events)
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_error(DomainError::refused("the request was withdrawn"));
}

#[tokio::test]
async fn the_responding_authority_is_checked_again_on_sending() {
    let services = services()
        .with_authority(with_coordinators(fr_ca(), &["fr-rc"]))
        .with_authority({
            let mut fr = fr_ca();
            fr.status = AuthorityStatus::AwaitingValidation;
            fr
        });
    given_in(services, drafted())
        .when_async(issued(de_handler(), RequestCommand::Send))
        .await
        .then_expect_error(DomainError::refused(
            "the authority fr-ca is not validated yet",
        ));
}

#[tokio::test]
async fn the_request_coordinator_approves_and_the_request_is_dispatched() {
    given(awaiting_approval())
        .when_async(issued(de_rc_handler(), RequestCommand::ApproveRequest))
        .await
        .then_expect_events(vec![
            RequestEvent::RequestApproved {
                coordinator: "de-rc".into(),
                at: now(),
            },
            RequestEvent::RequestSent {
                responding: party(&fr_ca()),
                at: now(),
            },
        ]);
}

#[tokio::test]
async fn only_a_request_awaiting_approval_is_approved() {
    given(drafted())
        .when_async(issued(de_rc_handler(), RequestCommand::ApproveRequest))
        .await
        .then_expect_error(DomainError::refused("the request does not await approval"));
}

#[tokio::test]
async fn another_coordinator_does_not_approve() {
    given(awaiting_approval())
        .when_async(issued(
            as_user("de-rc2-handler", "de-rc2"),
            RequestCommand::ApproveRequest,
        ))
        .await
        // Another coordinator has no view of the request: it does not exist for it.
        .then_expect_error(crate::request::unknown_request());
}

#[tokio::test]
async fn the_request_coordinator_sends_the_request_back_to_its_draft() {
    given(awaiting_approval())
        .when_async(issued(
            de_rc_handler(),
            RequestCommand::SendBackRequest {
                reason: " question 2 is unclear ".into(),
            },
        ))
        .await
        .then_expect_events(vec![RequestEvent::RequestSentBack {
            reason: "question 2 is unclear".into(),
            at: now(),
        }]);
}

#[tokio::test]
async fn a_sent_back_request_is_a_draft_again() {
    let events = with(
        awaiting_approval(),
        RequestEvent::RequestSentBack {
            reason: "unclear".into(),
            at: now(),
        },
    );
    let request = Subject::from_events(events);
    assert_eq!(request.summary().unwrap().status, RequestStatus::Draft);
}

#[tokio::test]
async fn only_a_request_awaiting_approval_is_sent_back() {
    given(sent())
        .when_async(issued(
            de_rc_handler(),
            RequestCommand::SendBackRequest {
                reason: "unclear".into(),
            },
        ))
        .await
        .then_expect_error(DomainError::refused("the request does not await approval"));
}

#[tokio::test]
async fn sending_back_needs_a_reason() {
    given(awaiting_approval())
        .when_async(issued(
            de_rc_handler(),
            RequestCommand::SendBackRequest { reason: " ".into() },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason for sending the request back is required",
        ));
}

#[tokio::test]
async fn a_reason_is_limited_in_length() {
    given(awaiting_approval())
        .when_async(issued(
            de_rc_handler(),
            RequestCommand::SendBackRequest {
                reason: "x".repeat(MAX_REASON_CHARS + 1),
            },
        ))
        .await
        .then_expect_error(DomainError::invalid(
            "the reason for sending the request back is longer than 2000 characters",
        ));
}
