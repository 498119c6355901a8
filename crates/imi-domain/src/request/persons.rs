//! Further persons concerned: natural persons a request names besides its subject (a
//! business partner, an employer, a co-signatory of a diploma), each identified and sealed
//! like the subject. Named by a request handler of the requesting authority while the request
//! is a draft, as part of what it asks about.
//!
//! With several persons the request's data key is no longer one person's, so the erasure of
//! one of them cannot erase it alone: the others' values are re-sealed under the request's
//! next key (`<exchange>#2`, `#3`, ...) in [`RequestEvent::PersonalDataResealed`], the fold
//! reads them from there, and the application then erases the old key. What is not re-sealed
//! (the erased person's identification, and texts the data administrator did not keep because
//! they may name that person) reads as erased.

use super::*;
use crate::sealed::{generation_key, key_generation};

/// Most further persons a request names.
pub const MAX_PERSONS_CONCERNED: usize = 10;
/// Longest id of a further person.
const MAX_PERSON_ID_CHARS: usize = 40;

/// A person whose personal data a request holds.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum PersonOfRequest {
    /// The request's subject.
    Subject,
    /// A further person concerned, by the id the request gave them.
    Concerned(String),
}

/// A value that outlives the erasure of one person: sealed under the request's next key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ResealedValue {
    /// The identification of a person who is not erased.
    Person {
        person: PersonOfRequest,
        identity: Sealed,
    },
    /// The free text, kept by the data administrator (it does not name the erased person).
    FreeText { text: Sealed },
    /// An answer, kept likewise.
    Answer { question: String, answer: Sealed },
}

impl ResealedValue {
    fn sealed(&self) -> &Sealed {
        match self {
            Self::Person { identity, .. } => identity,
            Self::FreeText { text } => text,
            Self::Answer { answer, .. } => answer,
        }
    }
}

impl Request {
    /// The data key the request's values are sealed under now.
    pub(super) fn current_key(&self) -> String {
        self.data_key
            .clone()
            .unwrap_or_else(|| request_key_id(&self.id))
    }

    /// The persons whose data the request holds now.
    pub(super) fn persons(&self) -> BTreeSet<PersonOfRequest> {
        let mut persons: BTreeSet<PersonOfRequest> = self
            .persons_concerned
            .keys()
            .map(|p| PersonOfRequest::Concerned(p.clone()))
            .collect();
        if !self.subject_erased {
            persons.insert(PersonOfRequest::Subject);
        }
        persons
    }

    pub(super) fn name_person_concerned(
        &self,
        person: String,
        identity: Sealed,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        self.require_not_ended()?;
        if self.status != RequestStatus::Draft {
            return Err(DomainError::refused(
                "further persons concerned are named while the request is a draft",
            ));
        }
        let well_formed = !person.is_empty()
            && person.chars().count() <= MAX_PERSON_ID_CHARS
            && person
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !well_formed {
            return Err(DomainError::invalid(format!(
                "a person's id is 1 to {MAX_PERSON_ID_CHARS} lower-case letters, digits or dashes"
            )));
        }
        if self.persons_concerned.contains_key(&person) {
            return Err(DomainError::refused(format!(
                "person {person} is already named"
            )));
        }
        if self.persons_concerned.len() >= MAX_PERSONS_CONCERNED {
            return Err(DomainError::invalid(format!(
                "a request names at most {MAX_PERSONS_CONCERNED} further persons"
            )));
        }
        checked_sealed("the person's identification", &identity, &self.id)?;
        Ok(vec![RequestEvent::PersonConcernedNamed {
            person,
            identity,
            at: now,
        }])
    }

    /// The erasure of `erased` among the request's persons: every other person's
    /// identification (and the texts kept) re-sealed under the request's next key.
    pub(super) fn reseal(
        &self,
        subject_request: String,
        erased: PersonOfRequest,
        from_key: String,
        key_id: String,
        values: Vec<ResealedValue>,
        now: DateTime<Utc>,
    ) -> Result<Vec<RequestEvent>, DomainError> {
        let persons = self.persons();
        if !persons.contains(&erased) {
            return Err(DomainError::invalid(
                "the request holds no personal data of that person",
            ));
        }
        if persons.len() < 2 {
            return Err(DomainError::refused(
                "the request is about one person: their erasure erases its personal data",
            ));
        }
        let current = self.current_key();
        if from_key != current {
            return Err(DomainError::refused(
                "the request's data key changed since the values were re-sealed",
            ));
        }
        let base = request_key_id(&self.id);
        let next = key_generation(&current, &base).unwrap_or(1) + 1;
        if key_id != generation_key(&base, next) {
            return Err(DomainError::invalid(
                "the values are re-sealed under the request's next data key",
            ));
        }
        let mut kept_persons = BTreeSet::new();
        let mut kept_texts = BTreeSet::new();
        for value in &values {
            if value.sealed().key_id != key_id {
                return Err(DomainError::invalid(
                    "a re-sealed value must be sealed under the request's next data key",
                ));
            }
            let once = match value {
                ResealedValue::Person { person, .. } => kept_persons.insert(person.clone()),
                ResealedValue::FreeText { .. } => {
                    if self.draft.free_text.is_none() {
                        return Err(DomainError::invalid("the request has no free text"));
                    }
                    kept_texts.insert(None)
                }
                ResealedValue::Answer { question, .. } => {
                    if !self.answers.contains_key(question) {
                        return Err(DomainError::invalid(format!(
                            "question {question} has no answer to keep"
                        )));
                    }
                    kept_texts.insert(Some(question.clone()))
                }
            };
            if !once {
                return Err(DomainError::invalid("a value is re-sealed once"));
            }
        }
        let others: BTreeSet<PersonOfRequest> =
            persons.into_iter().filter(|p| *p != erased).collect();
        if kept_persons != others {
            return Err(DomainError::invalid(
                "every other person's identification is re-sealed, and only theirs",
            ));
        }
        Ok(vec![RequestEvent::PersonalDataResealed {
            subject_request,
            erased,
            from_key,
            key_id,
            values,
            at: now,
        }])
    }

    /// The fold of [`RequestEvent::PersonalDataResealed`]: the re-sealed values replace
    /// the old ones; the rest stays under the old key, which the application erases.
    pub(super) fn resealed(
        &mut self,
        erased: PersonOfRequest,
        key_id: String,
        values: Vec<ResealedValue>,
    ) {
        match erased {
            PersonOfRequest::Subject => self.subject_erased = true,
            PersonOfRequest::Concerned(p) => {
                self.persons_concerned.remove(&p);
            }
        }
        for value in values {
            match value {
                ResealedValue::Person {
                    person: PersonOfRequest::Subject,
                    identity,
                } => self.draft.subject = identity,
                ResealedValue::Person {
                    person: PersonOfRequest::Concerned(p),
                    identity,
                } => {
                    self.persons_concerned.insert(p, identity);
                }
                ResealedValue::FreeText { text } => self.draft.free_text = Some(text),
                ResealedValue::Answer { question, answer } => {
                    self.answers.insert(question, answer);
                }
            }
        }
        self.data_key = Some(key_id);
    }
}
