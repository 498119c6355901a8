//! The GraphQL schema: queries read projections, mutations send commands, subscriptions push
//! changes. One module per concept; each contributes its part of `Query`, `Mutation` and
//! `Subscription`.

pub mod alerts;
pub mod auth;
pub mod authority_admin;
pub mod clock;
pub mod coordination;
pub mod data_protection;
pub mod directory;
pub mod history;
pub mod i18n;
pub mod invitations;
pub mod model;
pub mod notifications;
pub mod profile;
pub mod reference;
pub mod relay;
pub mod requests;
pub mod scoreboard;
pub mod subject_requests;
pub mod translation;
pub mod users;

use crate::context::RequestContext;
use crate::errors::{ApiError, Code};
use crate::guard::Guard;
use crate::live::ProjectionWatch;
use crate::metrics::Metrics;
use crate::state::Services;
use async_graphql::{
    Context, MergedObject, MergedSubscription, SDLExportOptions, Schema, SchemaBuilder,
};
use std::sync::Arc;

#[derive(MergedObject, Default)]
pub struct Query(
    auth::AuthQuery,
    directory::DirectoryQuery,
    users::UsersQuery,
    reference::ReferenceQuery,
    coordination::CoordinationQuery,
    notifications::NotificationsQuery,
    invitations::InvitationsQuery,
    requests::RequestsQuery,
    alerts::AlertsQuery,
    data_protection::DataProtectionQuery,
    history::HistoryQuery,
    clock::ClockQuery,
    subject_requests::SubjectRequestsQuery,
    scoreboard::ScoreboardQuery,
);

#[derive(MergedObject, Default)]
pub struct Mutation(
    auth::AuthMutation,
    directory::DirectoryMutation,
    authority_admin::AuthorityAdminMutation,
    users::UsersMutation,
    notifications::NotificationsMutation,
    requests::RequestsMutation,
    alerts::AlertsMutation,
    clock::ClockMutation,
    subject_requests::SubjectRequestsMutation,
);

#[derive(MergedSubscription, Default)]
pub struct Subscription(
    directory::DirectorySubscription,
    notifications::NotificationsSubscription,
);

pub type ImiSchema = Schema<Query, Mutation, Subscription>;

/// Most points a document may cost: each field counts 1, a connection's selection counts once
/// per requested item.
pub const MAX_COMPLEXITY: usize = 2_000;
/// async-graphql's own depth limit, which also counts introspection (see [`crate::guard`]).
pub const MAX_DEPTH_WITH_INTROSPECTION: usize = 20;
/// Most directives a field may carry.
pub const MAX_DIRECTIVES: usize = 10;

fn builder() -> SchemaBuilder<Query, Mutation, Subscription> {
    Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    )
    .limit_depth(MAX_DEPTH_WITH_INTROSPECTION)
    .limit_complexity(MAX_COMPLEXITY)
    .limit_directives(MAX_DIRECTIVES)
    .extension(Guard)
}

/// The schema with what its resolvers reach: the directory's and the notifications'
/// checkpoints feed the subscriptions.
pub fn build(
    services: Services,
    metrics: Metrics,
    directory_watch: Arc<ProjectionWatch>,
    notification_watch: Arc<notifications::NotificationWatch>,
) -> ImiSchema {
    builder()
        .data(services)
        .data(metrics)
        .data(directory_watch)
        .data(notification_watch)
        .finish()
}

/// The schema's SDL, sorted, as `schema.graphql` holds it.
pub fn schema_sdl() -> String {
    builder().finish().sdl_with_options(
        SDLExportOptions::new()
            .sorted_fields()
            .sorted_arguments()
            .sorted_enum_items(),
    )
}

/// Something every resolver needs from the context; its absence is a wiring fault.
pub(crate) fn data<'c, T: Send + Sync + 'static>(ctx: &Context<'c>) -> Result<&'c T, ApiError> {
    ctx.data_opt::<T>().ok_or_else(|| {
        tracing::error!(
            missing = std::any::type_name::<T>(),
            "schema data missing: the router was wired wrongly"
        );
        ApiError::new(Code::Internal, "internal error")
    })
}

pub(crate) fn request<'c>(ctx: &Context<'c>) -> Result<&'c RequestContext, ApiError> {
    data::<RequestContext>(ctx)
}

pub(crate) fn services<'c>(ctx: &Context<'c>) -> Result<&'c Services, ApiError> {
    data::<Services>(ctx)
}

/// The application layer.
pub(crate) fn app<'c>(ctx: &Context<'c>) -> Result<&'c imi_app::App, ApiError> {
    Ok(&services(ctx)?.app)
}

/// The signed-in caller of this request, as the application layer knows callers.
pub(crate) fn caller(ctx: &Context<'_>) -> Result<imi_app::Caller, ApiError> {
    let request = request(ctx)?;
    let principal = request.principal()?;
    Ok(imi_app::Caller::user(
        &principal.user_id,
        &principal.authority_id,
        request.language.clone(),
    )
    .with_idempotency_key(request.idempotency_key.clone())
    .with_correlation_id(request.correlation_id.clone()))
}
