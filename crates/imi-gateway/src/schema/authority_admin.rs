//! Administering authorities: invitation and registration, validation, general and area data,
//! access to areas and workflows, flags and links. Every mutation sends one command to the
//! Authority aggregate, which decides with the access policy; refusals map through
//! [`crate::errors`] (FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, CONFLICT) and write nothing.

use super::directory::{parse_id, wait_list, KeywordInput};
use super::i18n::parse_language;
use super::model::{parse_area, parse_region, AuthorityKind, Flag, Workflow, WorkflowRole};
use super::users::NewUserInput;
use super::{app, caller, request};
use crate::errors::ApiError;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use imi_app::registration::Placement;
use imi_app::{App, Outcome};
use imi_domain::authority::{
    self as d, AreaGrants, AuthorityCommand, AuthorityData, ContactDetails, WorkflowSetup,
};
use std::collections::{BTreeMap, BTreeSet};

/// Longest free text (names, descriptions, contact fields) accepted, in characters.
const MAX_TEXT_CHARS: usize = 2_000;

#[derive(Default)]
pub struct AuthorityAdminMutation;

/// What a command mutation did.
#[derive(SimpleObject)]
pub struct CommandPayload {
    /// Feed position (`xid:position`) of the authority's latest event once the command ran;
    /// null when the command changed nothing.
    pub position: Option<String>,
    /// Whether every projection in `waitFor` had applied that position when this answered.
    pub waited: bool,
}

impl From<Outcome> for CommandPayload {
    fn from(outcome: Outcome) -> Self {
        Self {
            position: outcome.position.map(|at| at.to_string()),
            waited: outcome.waited,
        }
    }
}

/// What `inviteAuthority` and `renewInvitation` did.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    pub position: Option<String>,
    pub waited: bool,
}

impl From<Outcome> for InvitationPayload {
    fn from(outcome: Outcome) -> Self {
        Self {
            position: outcome.position.map(|at| at.to_string()),
            waited: outcome.waited,
        }
    }
}

/// What a registration did.
#[derive(SimpleObject)]
pub struct RegistrationPayload {
    pub position: Option<String>,
    pub waited: bool,
    /// The id of the registered first user (who signs in with the login and password given).
    pub user_id: ID,
}

impl RegistrationPayload {
    fn of((outcome, user_id): (Outcome, String)) -> Self {
        Self {
            position: outcome.position.map(|at| at.to_string()),
            waited: outcome.waited,
            user_id: ID(user_id),
        }
    }
}

/// The signed-in caller sends the command `build` makes to `authority_id`.
pub(crate) async fn issue(
    ctx: &Context<'_>,
    authority_id: &ID,
    wait_for: Option<Vec<String>>,
    build: impl FnOnce() -> Result<AuthorityCommand, ApiError>,
) -> Result<CommandPayload, ApiError> {
    let caller = caller(ctx)?;
    let authority_id = parse_id(authority_id)?;
    let wait_for = wait_list(wait_for)?;
    let command = build()?;
    let outcome = app(ctx)?
        .authority_command(&caller, &authority_id, command, &wait_for)
        .await?;
    Ok(outcome.into())
}

fn text(what: &str, value: String) -> Result<String, ApiError> {
    imi_app::input::no_nul(what, &value)?;
    let value = value.trim().to_string();
    if value.is_empty() || value.chars().count() > MAX_TEXT_CHARS {
        return Err(ApiError::bad_input(format!(
            "{what} must have 1 to {MAX_TEXT_CHARS} characters"
        )));
    }
    Ok(value)
}

fn optional_text(what: &str, value: Option<String>) -> Result<Option<String>, ApiError> {
    value
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .map(|v| text(what, v))
        .transpose()
}

/// A text in one language.
#[derive(InputObject)]
pub struct LocalizedTextInput {
    /// ISO 639-1 code of one of the EU's official languages.
    pub language: String,
    pub text: String,
}

/// An authority's official contact details (not personal data).
#[derive(InputObject, Default)]
pub struct ContactDetailsInput {
    pub address: Option<String>,
    pub postal_code: Option<String>,
    pub city: Option<String>,
    pub phone: Option<String>,
    pub email: Option<String>,
    pub website: Option<String>,
}

impl ContactDetailsInput {
    fn into_domain(self) -> Result<ContactDetails, ApiError> {
        Ok(ContactDetails {
            address: optional_text("the address", self.address)?,
            postal_code: optional_text("the postal code", self.postal_code)?,
            city: optional_text("the city", self.city)?,
            phone: optional_text("the phone number", self.phone)?,
            email: optional_text("the e-mail address", self.email)?,
            website: optional_text("the website", self.website)?,
        })
    }
}

/// The data an authority registers with.
#[derive(InputObject)]
pub struct AuthorityDataInput {
    pub official_name: String,
    #[graphql(default)]
    pub informal_titles: Vec<LocalizedTextInput>,
    pub description: Option<String>,
    pub contact: Option<ContactDetailsInput>,
    /// A named contact person: personal data, sealed under the authority's key.
    pub contact_person: Option<String>,
}

impl AuthorityDataInput {
    async fn into_domain(self, app: &App, authority_id: &str) -> Result<AuthorityData, ApiError> {
        let mut informal_titles = BTreeMap::new();
        for t in self.informal_titles {
            informal_titles.insert(
                parse_language(&t.language)?,
                text("an informal title", t.text)?,
            );
        }
        let contact_person = match optional_text("the contact person", self.contact_person)? {
            Some(person) => Some(app.seal_for_authority(authority_id, &person).await?),
            None => None,
        };
        Ok(AuthorityData {
            official_name: text("the official name", self.official_name)?,
            informal_titles,
            description: optional_text("the description", self.description)?,
            contact: self.contact.unwrap_or_default().into_domain()?,
            contact_person,
        })
    }
}

/// A workflow to give access to, with the authority's role and linked coordinators there.
#[derive(InputObject)]
pub struct WorkflowGrantInput {
    pub workflow: Workflow,
    pub role: WorkflowRole,
    #[graphql(default)]
    pub linked_coordinators: Vec<ID>,
}

impl WorkflowGrantInput {
    fn into_domain(self) -> Result<(d::Workflow, WorkflowSetup), ApiError> {
        let linked_coordinators = self
            .linked_coordinators
            .iter()
            .map(parse_id)
            .collect::<Result<BTreeSet<_>, _>>()?;
        Ok((
            self.workflow.into(),
            WorkflowSetup {
                role: self.role.into(),
                linked_coordinators,
            },
        ))
    }
}

fn workflows(
    grants: Vec<WorkflowGrantInput>,
) -> Result<BTreeMap<d::Workflow, WorkflowSetup>, ApiError> {
    let mut out = BTreeMap::new();
    for grant in grants {
        let (workflow, setup) = grant.into_domain()?;
        if out.insert(workflow, setup).is_some() {
            return Err(ApiError::bad_input(format!(
                "the workflow {workflow} is listed twice"
            )));
        }
    }
    Ok(out)
}

/// Access to one legislative area.
#[derive(InputObject)]
pub struct AreaGrantInput {
    /// Code of the legislative area, e.g. `PQ`.
    pub area: String,
    pub workflows: Vec<WorkflowGrantInput>,
}

fn area_grants(grants: Vec<AreaGrantInput>) -> Result<AreaGrants, ApiError> {
    let mut out = AreaGrants::new();
    for grant in grants {
        let area = parse_area(&grant.area)?;
        if out
            .insert(area.clone(), workflows(grant.workflows)?)
            .is_some()
        {
            return Err(ApiError::bad_input(format!(
                "the area {area} is listed twice"
            )));
        }
    }
    Ok(out)
}

fn areas(codes: Vec<String>) -> Result<BTreeSet<d::LegislativeArea>, ApiError> {
    codes.iter().map(|c| parse_area(c)).collect()
}

fn placement(
    kind: AuthorityKind,
    region: Option<String>,
    coordinated_areas: Vec<String>,
    access: Vec<AreaGrantInput>,
) -> Result<Placement, ApiError> {
    Ok(Placement {
        kind: kind.into(),
        region: region.as_deref().map(parse_region).transpose()?,
        coordinated_areas: areas(coordinated_areas)?,
        access: area_grants(access)?,
    })
}

/// Input of `inviteAuthority`.
#[derive(InputObject)]
pub struct InviteAuthorityInput {
    /// The id the new authority will have.
    pub authority_id: ID,
    pub kind: AuthorityKind,
    pub region: Option<String>,
    /// For a legislative area coordinator (exactly one) or a delegated coordinator: the areas
    /// it will coordinate.
    #[graphql(default)]
    pub coordinated_areas: Vec<String>,
    /// The areas and workflows it will have access to.
    pub access: Vec<AreaGrantInput>,
    /// Where the registration code goes (personal data: sealed under the authority's key).
    pub contact_email: String,
    /// Projections to wait for (at most 5 s); default `["authority_directory"]`.
    pub wait_for: Option<Vec<String>>,
}

/// Input of `registerAuthority`.
#[derive(InputObject)]
pub struct RegisterAuthorityInput {
    pub authority_id: ID,
    pub kind: AuthorityKind,
    pub region: Option<String>,
    #[graphql(default)]
    pub coordinated_areas: Vec<String>,
    pub access: Vec<AreaGrantInput>,
    pub data: AuthorityDataInput,
    /// The first user, who becomes its local data administrator.
    pub first_user: NewUserInput,
    pub wait_for: Option<Vec<String>>,
}

/// Input of `registerWithInvitation`.
#[derive(InputObject)]
pub struct RegisterWithInvitationInput {
    pub authority_id: ID,
    /// The code `inviteAuthority` (or `renewInvitation`) returned.
    pub registration_code: String,
    pub data: AuthorityDataInput,
    /// The first user, who becomes its local data administrator.
    pub first_user: NewUserInput,
    pub wait_for: Option<Vec<String>>,
}

/// An authority and nothing else.
#[derive(InputObject)]
pub struct AuthorityInput {
    pub authority_id: ID,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct SetOfficialNameInput {
    pub authority_id: ID,
    pub official_name: String,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct SetDescriptionInput {
    pub authority_id: ID,
    /// Null removes the description.
    pub description: Option<String>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct SetContactDetailsInput {
    pub authority_id: ID,
    pub contact: ContactDetailsInput,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct SetContactPersonInput {
    pub authority_id: ID,
    /// Null removes the contact person. Sealed under the authority's key.
    pub contact_person: Option<String>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct SetCompetencesInput {
    pub authority_id: ID,
    pub area: String,
    pub keywords: Vec<KeywordInput>,
    pub wait_for: Option<Vec<String>>,
}

/// Codes of reference data (professions, service activities) in one area.
#[derive(InputObject)]
pub struct SetAreaCodesInput {
    pub authority_id: ID,
    pub area: String,
    pub codes: Vec<String>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct GrantAreaAccessInput {
    pub authority_id: ID,
    pub area: String,
    pub workflows: Vec<WorkflowGrantInput>,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct AreaInput {
    pub authority_id: ID,
    pub area: String,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct GrantWorkflowAccessInput {
    pub authority_id: ID,
    pub area: String,
    pub grant: WorkflowGrantInput,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct WorkflowInput {
    pub authority_id: ID,
    pub area: String,
    pub workflow: Workflow,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct ChangeWorkflowRoleInput {
    pub authority_id: ID,
    pub area: String,
    pub workflow: Workflow,
    pub role: WorkflowRole,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct HandOverInput {
    pub authority_id: ID,
    pub area: String,
    /// The coordinator that becomes the access coordinator.
    pub to: ID,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct SetFlagInput {
    pub authority_id: ID,
    pub area: String,
    pub workflow: Workflow,
    pub flag: Flag,
    pub enabled: bool,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct CoordinatorLinkInput {
    pub authority_id: ID,
    pub area: String,
    pub workflow: Workflow,
    pub coordinator_id: ID,
    pub wait_for: Option<Vec<String>>,
}

#[derive(InputObject)]
pub struct AuthorityLinkInput {
    pub authority_id: ID,
    /// The other authority (same Member State).
    pub linked_authority_id: ID,
    pub wait_for: Option<Vec<String>>,
}

#[Object]
impl AuthorityAdminMutation {
    /// A data administrator of a coordinator invites an authority to register itself. The
    /// registration code (256 random bits, valid 30 days) is e-mailed to `contactEmail` by the
    /// notification outbox; nobody else sees it (the log keeps only its SHA-256).
    async fn invite_authority(
        &self,
        ctx: &Context<'_>,
        input: InviteAuthorityInput,
    ) -> Result<InvitationPayload, ApiError> {
        let caller = caller(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let placement = placement(
            input.kind,
            input.region,
            input.coordinated_areas,
            input.access,
        )?;
        let email = text("the contact e-mail address", input.contact_email)?;
        let outcome = app(ctx)?
            .invite_authority(&caller, &authority_id, placement, &email, &wait_for)
            .await?;
        Ok(outcome.into())
    }

    /// The inviting coordinator replaces the registration code (the old one stops working);
    /// the new one is valid 30 days and, as with `inviteAuthority`, returned only here.
    async fn renew_invitation(
        &self,
        ctx: &Context<'_>,
        input: AuthorityInput,
    ) -> Result<InvitationPayload, ApiError> {
        let caller = caller(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let outcome = app(ctx)?
            .renew_invitation(&caller, &authority_id, &wait_for)
            .await?;
        Ok(outcome.into())
    }

    /// The invited authority registers itself with its code: its data and its first user
    /// (who becomes its local data administrator and signs in with the login and password
    /// given). Needs no token.
    async fn register_with_invitation(
        &self,
        ctx: &Context<'_>,
        input: RegisterWithInvitationInput,
    ) -> Result<RegistrationPayload, ApiError> {
        let request = request(ctx)?;
        let app = app(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        // Nobody is signed in: the first user acts, with the client's keys.
        let origin = imi_app::Caller::system("registration", request.language.clone())
            .with_idempotency_key(request.idempotency_key.clone())
            .with_correlation_id(request.correlation_id.clone());
        let first = input.first_user.into_account();
        let data = input.data.into_domain(app, &authority_id).await?;
        let registered = app
            .register_with_invitation(
                &origin,
                &authority_id,
                &input.registration_code,
                data,
                &first,
                &wait_for,
            )
            .await?;
        Ok(RegistrationPayload::of(registered))
    }

    /// A data administrator of a coordinator registers an authority directly (and is its
    /// validating coordinator at once).
    async fn register_authority(
        &self,
        ctx: &Context<'_>,
        input: RegisterAuthorityInput,
    ) -> Result<RegistrationPayload, ApiError> {
        let caller = caller(ctx)?;
        let app = app(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let placement = placement(
            input.kind,
            input.region,
            input.coordinated_areas,
            input.access,
        )?;
        let first = input.first_user.into_account();
        let data = input.data.into_domain(app, &authority_id).await?;
        let registered = app
            .register_authority(&caller, &authority_id, placement, data, &first, &wait_for)
            .await?;
        Ok(RegistrationPayload::of(registered))
    }

    /// The inviting coordinator validates a self-registered authority: only then it works.
    async fn validate_authority(
        &self,
        ctx: &Context<'_>,
        input: AuthorityInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::ValidateAuthority)
        })
        .await
    }

    async fn set_official_name(
        &self,
        ctx: &Context<'_>,
        input: SetOfficialNameInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetOfficialName {
                official_name: text("the official name", input.official_name)?,
            })
        })
        .await
    }

    async fn set_description(
        &self,
        ctx: &Context<'_>,
        input: SetDescriptionInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetDescription {
                description: optional_text("the description", input.description)?,
            })
        })
        .await
    }

    async fn set_contact_details(
        &self,
        ctx: &Context<'_>,
        input: SetContactDetailsInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetContactDetails {
                contact: input.contact.into_domain()?,
            })
        })
        .await
    }

    /// Sets (or, with null, removes) the named contact person, sealed under the authority's
    /// key.
    async fn set_contact_person(
        &self,
        ctx: &Context<'_>,
        input: SetContactPersonInput,
    ) -> Result<CommandPayload, ApiError> {
        let caller = caller(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let contact_person = optional_text("the contact person", input.contact_person)?;
        let outcome = app(ctx)?
            .set_contact_person(&caller, &authority_id, contact_person.as_deref(), &wait_for)
            .await?;
        Ok(outcome.into())
    }

    /// Areas of competence in one legislative area.
    async fn set_competences(
        &self,
        ctx: &Context<'_>,
        input: SetCompetencesInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetCompetences {
                area: parse_area(&input.area)?,
                keywords: input
                    .keywords
                    .into_iter()
                    .map(|k| d::Keyword {
                        list: k.list.into(),
                        code: k.code.trim().to_string(),
                    })
                    .collect(),
            })
        })
        .await
    }

    async fn set_professions(
        &self,
        ctx: &Context<'_>,
        input: SetAreaCodesInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetProfessions {
                area: parse_area(&input.area)?,
                professions: input
                    .codes
                    .into_iter()
                    .map(|c| c.trim().to_string())
                    .collect(),
            })
        })
        .await
    }

    async fn set_service_activities(
        &self,
        ctx: &Context<'_>,
        input: SetAreaCodesInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetServiceActivities {
                area: parse_area(&input.area)?,
                service_activities: input
                    .codes
                    .into_iter()
                    .map(|c| c.trim().to_string())
                    .collect(),
            })
        })
        .await
    }

    /// A coordinator gives the authority access to a legislative area (and becomes its access
    /// coordinator there).
    async fn grant_area_access(
        &self,
        ctx: &Context<'_>,
        input: GrantAreaAccessInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::GrantAreaAccess {
                area: parse_area(&input.area)?,
                workflows: workflows(input.workflows)?,
            })
        })
        .await
    }

    async fn revoke_area_access(
        &self,
        ctx: &Context<'_>,
        input: AreaInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::RevokeAreaAccess {
                area: parse_area(&input.area)?,
            })
        })
        .await
    }

    async fn grant_workflow_access(
        &self,
        ctx: &Context<'_>,
        input: GrantWorkflowAccessInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            let (workflow, setup) = input.grant.into_domain()?;
            Ok(AuthorityCommand::GrantWorkflowAccess {
                area: parse_area(&input.area)?,
                workflow,
                setup,
            })
        })
        .await
    }

    async fn revoke_workflow_access(
        &self,
        ctx: &Context<'_>,
        input: WorkflowInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::RevokeWorkflowAccess {
                area: parse_area(&input.area)?,
                workflow: input.workflow.into(),
            })
        })
        .await
    }

    async fn change_workflow_role(
        &self,
        ctx: &Context<'_>,
        input: ChangeWorkflowRoleInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::ChangeWorkflowRole {
                area: parse_area(&input.area)?,
                workflow: input.workflow.into(),
                role: input.role.into(),
            })
        })
        .await
    }

    /// The access coordinator of an area passes its role on to another coordinator.
    async fn hand_over_access_coordination(
        &self,
        ctx: &Context<'_>,
        input: HandOverInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::HandOverAccessCoordination {
                area: parse_area(&input.area)?,
                to: parse_id(&input.to)?,
            })
        })
        .await
    }

    async fn set_flag(
        &self,
        ctx: &Context<'_>,
        input: SetFlagInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetFlag {
                area: parse_area(&input.area)?,
                workflow: input.workflow.into(),
                flag: input.flag.into(),
                enabled: input.enabled,
            })
        })
        .await
    }

    async fn link_coordinator(
        &self,
        ctx: &Context<'_>,
        input: CoordinatorLinkInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::LinkCoordinator {
                area: parse_area(&input.area)?,
                workflow: input.workflow.into(),
                coordinator_id: parse_id(&input.coordinator_id)?,
            })
        })
        .await
    }

    async fn unlink_coordinator(
        &self,
        ctx: &Context<'_>,
        input: CoordinatorLinkInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::UnlinkCoordinator {
                area: parse_area(&input.area)?,
                workflow: input.workflow.into(),
                coordinator_id: parse_id(&input.coordinator_id)?,
            })
        })
        .await
    }

    /// Links another authority of the same Member State (monitoring view, no action).
    async fn link_authority(
        &self,
        ctx: &Context<'_>,
        input: AuthorityLinkInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::LinkAuthority {
                authority_id: parse_id(&input.linked_authority_id)?,
            })
        })
        .await
    }

    async fn unlink_authority(
        &self,
        ctx: &Context<'_>,
        input: AuthorityLinkInput,
    ) -> Result<CommandPayload, ApiError> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::UnlinkAuthority {
                authority_id: parse_id(&input.linked_authority_id)?,
            })
        })
        .await
    }
}
