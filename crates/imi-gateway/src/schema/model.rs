//! The GraphQL mirrors of the domain's authority values (kinds, workflows, roles, flags,
//! keyword lists) and the checked parsing of the codes clients send.

use crate::errors::ApiError;
use async_graphql::Enum;
use imi_domain::authority as d;

macro_rules! mirror {
    ($(#[$doc:meta])* $gql:ident => $dom:ident { $($v:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Enum, Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $gql {
            $($v),*
        }

        impl From<$gql> for d::$dom {
            fn from(v: $gql) -> Self {
                match v {
                    $($gql::$v => d::$dom::$v),*
                }
            }
        }

        impl From<d::$dom> for $gql {
            fn from(v: d::$dom) -> Self {
                match v {
                    $(d::$dom::$v => $gql::$v),*
                }
            }
        }
    };
}

mirror!(
    /// The administrative role an authority plays in IMI's coordination hierarchy.
    AuthorityKind => AuthorityKind {
        NationalCoordinator,
        SuperDelegatedCoordinator,
        LegislativeAreaCoordinator,
        DelegatedCoordinator,
        CompetentAuthority,
    }
);

mirror!(
    /// The two types of workflow every legislative area may offer.
    Workflow => Workflow { Requests, Alerts }
);

mirror!(
    /// The role an authority plays in one workflow of one legislative area.
    WorkflowRole => WorkflowRole {
        RequestAuthority,
        RequestCoordinator,
        AlertAuthority,
        AlertCoordinator,
        IncomingAlertPostbox,
    }
);

mirror!(
    /// A user's role in one legislative area.
    UserRole => UserRole {
        BasicUser,
        RequestHandler,
        RequestViewer,
        Allocator,
        ReferralHandler,
        AlertHandler,
        AlertDisseminator,
        AlertViewer,
        DataAdministrator,
        DataProtectionOfficer,
        Auditor,
    }
);

mirror!(
    /// A setting of the requests workflow.
    Flag => Flag { Allocation, ApprovalOfNewRequests, ApprovalOfResponses }
);

mirror!(
    /// The two keyword lists competences are chosen from.
    KeywordList => KeywordList { EconomicActivities, PolicyAreas }
);

impl AuthorityKind {
    /// From the name the directory stores (the domain's `as_str`).
    pub fn from_name(name: &str) -> Option<Self> {
        d::AuthorityKind::ALL
            .into_iter()
            .find(|k| k.as_str() == name)
            .map(Self::from)
    }
}

/// A legislative area code from the client.
pub fn parse_area(code: &str) -> Result<d::LegislativeArea, ApiError> {
    d::LegislativeArea::parse(code).map_err(|e| ApiError::bad_input(e.to_string()))
}

/// A region code from the client.
pub fn parse_region(code: &str) -> Result<d::Region, ApiError> {
    d::Region::parse(code).map_err(|e| ApiError::bad_input(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_by_name() {
        for kind in d::AuthorityKind::ALL {
            assert_eq!(
                AuthorityKind::from_name(kind.as_str()).map(d::AuthorityKind::from),
                Some(kind)
            );
        }
        assert_eq!(AuthorityKind::from_name("Nope"), None);
        assert!(parse_area("PQ").is_ok());
        assert!(parse_area("P Q").is_err());
    }
}
