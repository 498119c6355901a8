//! Given/when/then tests of the InformationRequest aggregate and its policy, by concept.

mod closure;
mod drafting;
mod fixtures;
mod persons;
mod policy;
mod referral;
mod replies;
mod responding;
mod serialization;
mod subjects;
mod support;
mod timing;
