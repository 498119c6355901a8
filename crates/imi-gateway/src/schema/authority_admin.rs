//! Administering authorities: invitation and registration, validation, general and area data,
//! access to areas and workflows, flags and links. Every mutation sends one command to the
//! Authority aggregate, which decides with the access policy; refusals map through
//! [`crate::errors`] (FORBIDDEN, BAD_USER_INPUT, NOT_FOUND, CONFLICT) and write nothing.

use super::directory::{parse_id, wait_list, KeywordInput};
use super::i18n::parse_language;
use super::model::{parse_area, parse_region, AuthorityKind, Flag, Workflow, WorkflowRole};
use super::users::{check_new_login, set_credentials, NewUserInput};
use super::{app, request, services};
use crate::errors::ApiError;
use crate::state::Services;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use imi_app::Wait;
use imi_domain::actor::Actor;
use imi_domain::authority::{
    self as d, authority_key_id, AreaGrants, AuthorityCommand, AuthorityData, ContactDetails,
    WorkflowSetup,
};
use imi_domain::sealed::Sealed;
use imi_store::feed::FeedPosition;
use imi_store::metadata::CommandMetadata;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};

/// Random bytes in a registration code (256 bits).
const CODE_BYTES: usize = 32;
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

/// What `inviteAuthority` and `renewInvitation` did.
#[derive(SimpleObject)]
pub struct InvitationPayload {
    pub position: Option<String>,
    pub waited: bool,
}

/// What a registration did.
#[derive(SimpleObject)]
pub struct RegistrationPayload {
    pub position: Option<String>,
    pub waited: bool,
    /// The id of the registered first user (who signs in with the login and password given).
    pub user_id: ID,
}

/// Sends `command` to authority `authority_id` as `by`, counts it, and maps its refusal.
pub(crate) async fn execute(
    ctx: &Context<'_>,
    authority_id: &str,
    by: Actor,
    metadata: CommandMetadata,
    command: AuthorityCommand,
) -> Result<Option<FeedPosition>, ApiError> {
    Ok(app(ctx)?
        .run_as(by, metadata, authority_id, command.into())
        .await?)
}

/// Waits for the projections in `wait_for` to apply `position`.
pub(crate) async fn settle(
    services: &Services,
    position: Option<FeedPosition>,
    wait_for: &Wait,
) -> Result<CommandPayload, ApiError> {
    let outcome = services.app.settle(position, wait_for).await?;
    Ok(CommandPayload {
        position: outcome.position.map(|at| at.to_string()),
        waited: outcome.waited,
    })
}

/// The signed-in caller sends the command `build` makes to `authority_id`.
pub(crate) async fn issue(
    ctx: &Context<'_>,
    authority_id: &ID,
    wait_for: Option<Vec<String>>,
    build: impl FnOnce() -> Result<AuthorityCommand, ApiError>,
) -> async_graphql::Result<CommandPayload> {
    let request = request(ctx)?;
    let principal = request.principal()?;
    let authority_id = parse_id(authority_id)?;
    let wait_for = wait_list(wait_for)?;
    let command = build()?;
    let position = execute(
        ctx,
        &authority_id,
        principal.actor(),
        request.metadata(principal),
        command,
    )
    .await?;
    Ok(settle(services(ctx)?, position, &wait_for).await?)
}

/// A fresh registration code and the lower-case hex SHA-256 the command carries.
pub fn registration_code() -> (String, String) {
    let mut bytes = [0u8; CODE_BYTES];
    OsRng.fill_bytes(&mut bytes);
    let code = URL_SAFE_NO_PAD.encode(bytes);
    let digest = code_digest(&code);
    (code, digest)
}

/// Lower-case hex SHA-256 of a registration code.
pub fn code_digest(code: &str) -> String {
    Sha256::digest(code.trim().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn text(what: &str, value: String) -> Result<String, ApiError> {
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

/// Seals `value` under the authority's own data key.
async fn seal_for_authority(
    services: &Services,
    authority_id: &str,
    value: &str,
) -> Result<Sealed, ApiError> {
    services
        .keyring
        .seal(&authority_key_id(authority_id), &value)
        .await
        .map_err(|e| ApiError::internal("sealing authority data", &e))
}

/// Keeps a fresh registration code, sealed under the invited authority's key, for the mail
/// sender (which deletes it once sent). Written before the command, so the sender never sees
/// an invitation whose code is not there yet.
async fn keep_registration_code(
    services: &Services,
    authority_id: &str,
    code: &str,
    digest: &str,
) -> Result<(), ApiError> {
    let sealed = seal_for_authority(services, authority_id, code).await?;
    let sealed = serde_json::to_value(sealed)
        .map_err(|e| ApiError::internal("encoding a sealed code", &e))?;
    sqlx::query(
        "INSERT INTO registration_codes (code_digest, authority_id, code) VALUES ($1, $2, $3)
         ON CONFLICT (code_digest) DO NOTHING",
    )
    .bind(digest)
    .bind(authority_id)
    .bind(sealed)
    .execute(&services.pool)
    .await
    .map_err(|e| ApiError::database("keeping a registration code", &e))?;
    Ok(())
}

/// Drops the kept code when its command did not go through (no event names its digest).
async fn forget_code_unless<T, E>(
    services: &Services,
    digest: &str,
    outcome: Result<T, E>,
) -> Result<T, E> {
    if outcome.is_err() {
        if let Err(e) = sqlx::query("DELETE FROM registration_codes WHERE code_digest = $1")
            .bind(digest)
            .execute(&services.pool)
            .await
        {
            tracing::warn!(error = %e, "could not drop an unused registration code");
        }
    }
    outcome
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
    async fn into_domain(
        self,
        services: &Services,
        authority_id: &str,
    ) -> Result<AuthorityData, ApiError> {
        let mut informal_titles = BTreeMap::new();
        for t in self.informal_titles {
            informal_titles.insert(
                parse_language(&t.language)?,
                text("an informal title", t.text)?,
            );
        }
        let contact_person = match optional_text("the contact person", self.contact_person)? {
            Some(person) => Some(seal_for_authority(services, authority_id, &person).await?),
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
    ) -> async_graphql::Result<InvitationPayload> {
        let request = request(ctx)?;
        let principal = request.principal()?;
        let services = services(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let region = input.region.as_deref().map(parse_region).transpose()?;
        let coordinated_areas = areas(input.coordinated_areas)?;
        let access = area_grants(input.access)?;
        let email = text("the contact e-mail address", input.contact_email)?;
        let (code, code_digest) = registration_code();
        let contact_email = seal_for_authority(services, &authority_id, &email).await?;
        keep_registration_code(services, &authority_id, &code, &code_digest).await?;
        let command = AuthorityCommand::InviteAuthority {
            authority_id: authority_id.clone(),
            kind: input.kind.into(),
            region,
            coordinated_areas,
            access,
            code_digest: code_digest.clone(),
            contact_email,
        };
        let position = execute(
            ctx,
            &authority_id,
            principal.actor(),
            request.metadata(principal),
            command,
        )
        .await;
        let position = forget_code_unless(services, &code_digest, position).await?;
        let done = settle(services, position, &wait_for).await?;
        Ok(InvitationPayload {
            position: done.position,
            waited: done.waited,
        })
    }

    /// The inviting coordinator replaces the registration code (the old one stops working);
    /// the new one is valid 30 days and, as with `inviteAuthority`, returned only here.
    async fn renew_invitation(
        &self,
        ctx: &Context<'_>,
        input: AuthorityInput,
    ) -> async_graphql::Result<InvitationPayload> {
        let (code, code_digest) = registration_code();
        let authority_id = parse_id(&input.authority_id)?;
        keep_registration_code(services(ctx)?, &authority_id, &code, &code_digest).await?;
        let digest = code_digest.clone();
        let done = issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::RenewInvitation {
                code_digest: digest,
            })
        })
        .await;
        let done = forget_code_unless(services(ctx)?, &code_digest, done).await?;
        Ok(InvitationPayload {
            position: done.position,
            waited: done.waited,
        })
    }

    /// The invited authority registers itself with its code: its data and its first user
    /// (who becomes its local data administrator and signs in with the login and password
    /// given). Needs no token.
    async fn register_with_invitation(
        &self,
        ctx: &Context<'_>,
        input: RegisterWithInvitationInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        let request = request(ctx)?;
        let services = services(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let code = input.registration_code.trim().to_string();
        if code.is_empty() || code.len() > 200 {
            return Err(ApiError::bad_input("the registration code is malformed").into());
        }
        let first = input.first_user;
        check_new_login(services, &first.login, &first.password).await?;
        let data = input.data.into_domain(services, &authority_id).await?;
        let (first_user, user_id) = first.new_user(services).await?;
        let by = Actor::User {
            user_id: user_id.clone(),
            authority_id: authority_id.clone(),
        };
        let mut metadata =
            CommandMetadata::for_actor(&by).with_idempotency_key(request.idempotency_key.clone());
        if let Some(correlation_id) = &request.correlation_id {
            metadata.correlation_id = correlation_id.clone();
        }
        let command = AuthorityCommand::RegisterWithInvitation {
            code_digest: code_digest(&code),
            data,
            first_user,
        };
        let position = execute(ctx, &authority_id, by, metadata, command).await?;
        set_credentials(
            services,
            &user_id,
            &authority_id,
            &first.login,
            &first.password,
        )
        .await?;
        let done = settle(services, position, &wait_for).await?;
        Ok(RegistrationPayload {
            position: done.position,
            waited: done.waited,
            user_id: ID(user_id),
        })
    }

    /// A data administrator of a coordinator registers an authority directly (and is its
    /// validating coordinator at once).
    async fn register_authority(
        &self,
        ctx: &Context<'_>,
        input: RegisterAuthorityInput,
    ) -> async_graphql::Result<RegistrationPayload> {
        let request = request(ctx)?;
        let principal = request.principal()?;
        let services = services(ctx)?;
        let authority_id = parse_id(&input.authority_id)?;
        let wait_for = wait_list(input.wait_for)?;
        let region = input.region.as_deref().map(parse_region).transpose()?;
        let coordinated_areas = areas(input.coordinated_areas)?;
        let access = area_grants(input.access)?;
        let first = input.first_user;
        check_new_login(services, &first.login, &first.password).await?;
        let data = input.data.into_domain(services, &authority_id).await?;
        let (first_user, user_id) = first.new_user(services).await?;
        let command = AuthorityCommand::RegisterAuthority {
            authority_id: authority_id.clone(),
            kind: input.kind.into(),
            region,
            coordinated_areas,
            access,
            data,
            first_user,
        };
        let position = execute(
            ctx,
            &authority_id,
            principal.actor(),
            request.metadata(principal),
            command,
        )
        .await?;
        set_credentials(
            services,
            &user_id,
            &authority_id,
            &first.login,
            &first.password,
        )
        .await?;
        let done = settle(services, position, &wait_for).await?;
        Ok(RegistrationPayload {
            position: done.position,
            waited: done.waited,
            user_id: ID(user_id),
        })
    }

    /// The inviting coordinator validates a self-registered authority: only then it works.
    async fn validate_authority(
        &self,
        ctx: &Context<'_>,
        input: AuthorityInput,
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::ValidateAuthority)
        })
        .await
    }

    async fn set_official_name(
        &self,
        ctx: &Context<'_>,
        input: SetOfficialNameInput,
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
        let request = request(ctx)?;
        request.principal()?;
        let authority_id = parse_id(&input.authority_id)?;
        let contact_person = match optional_text("the contact person", input.contact_person)? {
            Some(person) => Some(seal_for_authority(services(ctx)?, &authority_id, &person).await?),
            None => None,
        };
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::SetContactPerson { contact_person })
        })
        .await
    }

    /// Areas of competence in one legislative area.
    async fn set_competences(
        &self,
        ctx: &Context<'_>,
        input: SetCompetencesInput,
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
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
    ) -> async_graphql::Result<CommandPayload> {
        issue(ctx, &input.authority_id, input.wait_for, || {
            Ok(AuthorityCommand::UnlinkAuthority {
                authority_id: parse_id(&input.linked_authority_id)?,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_codes_are_random_and_only_their_digest_is_sent() {
        let (a, da) = registration_code();
        let (b, db) = registration_code();
        assert_ne!(a, b);
        assert!(URL_SAFE_NO_PAD.decode(&a).unwrap().len() * 8 >= 128);
        assert_eq!(da, code_digest(&a));
        assert_ne!(da, db);
        assert_eq!(da.len(), 64);
        assert!(da
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_eq!(
            code_digest("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
