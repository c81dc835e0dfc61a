//! /api/v1/workspaces: the platform makes one workspace per account (`PUT /workspaces/{uid}`,
//! an upsert), lists, renames and deletes them. Instance keys only: to a workspace key there
//! are no workspaces here.

use super::auth::InstanceKey;
use super::body::ApiJson;
use super::webhooks::ErrorBody;
use crate::app::workspaces::{self, Change, Listed};
use crate::domain::time;
use crate::error::{ApiError, AppError};
use crate::state::AppState;
use crate::store::workspaces::Workspace;
use crate::web::forms::Form;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        super::resource::resource("/workspaces", "GET, POST")
            .route(web::get().to(list_workspaces))
            .route(web::post().to(create_workspace)),
    )
    .service(
        super::resource::resource("/workspaces/{workspace}", "GET, PUT, PATCH, DELETE")
            .route(web::get().to(get_workspace))
            .route(web::put().to(put_workspace))
            .route(web::patch().to(update_workspace))
            .route(web::delete().to(delete_workspace)),
    );
}

/// A workspace: one AethenoxAI account.
#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceResource {
    #[schema(example = "ws_01jdb6d9m0v8k3x4r5t6y7z8a9")]
    pub id: String,
    /// The platform's own account id; accepted wherever a workspace id is.
    #[schema(example = "acct_4821")]
    pub uid: Option<String>,
    pub name: String,
    pub created_at: String,
    /// Its webhooks.
    pub webhooks: i64,
    /// Its webhooks failing now or disabled.
    pub failing_webhooks: i64,
}

impl WorkspaceResource {
    fn new(w: Workspace, counts: crate::store::workspaces::Counts) -> Self {
        WorkspaceResource {
            created_at: time::rfc3339(w.created_at),
            id: w.id,
            uid: w.uid,
            name: w.name,
            webhooks: counts.webhooks,
            failing_webhooks: counts.failing_webhooks,
        }
    }
}

impl From<Listed> for WorkspaceResource {
    fn from(l: Listed) -> Self {
        WorkspaceResource::new(l.workspace, l.counts)
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WorkspaceList {
    pub data: Vec<WorkspaceResource>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateWorkspace {
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Acme Corp",
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
    #[schema(pattern = "^[A-Za-z0-9._-]{1,64}$", example = "acct_4821")]
    #[serde(default)]
    pub uid: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PutWorkspace {
    #[schema(
        min_length = 1,
        max_length = 200,
        example = "Acme Corp",
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateWorkspace {
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 200,
        pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*[^\\s\\u0000-\\u001f\\u007f-\\u009f][^\\u0000-\\u001f\\u007f-\\u009f]*$"
    )]
    pub name: Option<String>,
    /// A new uid, or null to remove it.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, pattern = "^[A-Za-z0-9._-]{1,64}$")]
    pub uid: Option<Option<String>>,
}

/// A field that is present (null included) is `Some`; absent stays `None` (the default).
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

#[derive(Debug, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct WorkspaceParams {
    /// Only workspaces whose name or uid contains this (any case).
    #[param(max_length = 200)]
    q: Option<String>,
    /// `next_cursor` of the previous page.
    #[param(pattern = "^(ws_[0-9a-hjkmnp-tv-z]{26})?$")]
    cursor: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

/// The `{workspace}` of a path: its id or its uid.
#[derive(utoipa::IntoParams)]
#[into_params(parameter_in = Path)]
#[allow(dead_code)]
pub struct WorkspacePath {
    /// The workspace's id (`ws_…`) or uid.
    #[param(pattern = "^[A-Za-z0-9._-]{1,64}$", example = "default")]
    workspace: String,
}

fn workspace_key(req: &HttpRequest) -> String {
    req.match_info()
        .get("workspace")
        .unwrap_or_default()
        .to_owned()
}

/// List workspaces in the order they were made (instance keys).
#[utoipa::path(get, path = "/api/v1/workspaces", tag = "workspaces", params(WorkspaceParams),
    responses((status = 200, body = WorkspaceList), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn list_workspaces(
    InstanceKey(auth): InstanceKey,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = Form::parse(req.query_string().as_bytes());
    let limit = crate::app::parse_limit(&query, 20)?;
    let cursor = super::resource::cursor(&query, "ws")?;
    let q = query.get("q");
    if q.chars().count() > 200 {
        return Err(ApiError(AppError::validation(
            "q",
            "q is at most 200 characters",
        )));
    }
    let q = (!q.is_empty()).then(|| q.to_owned());
    let (rows, next_cursor) = workspaces::list(&state, &auth.actor(), q, cursor, limit).await?;
    let data = rows.into_iter().map(WorkspaceResource::from).collect();
    Ok(HttpResponse::Ok().json(WorkspaceList { data, next_cursor }))
}

/// Make a workspace (instance admin keys).
#[utoipa::path(post, path = "/api/v1/workspaces", tag = "workspaces", request_body = CreateWorkspace,
    responses((status = 201, body = WorkspaceResource), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "Another workspace has this uid", body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn create_workspace(
    InstanceKey(auth): InstanceKey,
    state: web::Data<AppState>,
    body: ApiJson<CreateWorkspace>,
) -> Result<HttpResponse, ApiError> {
    let body = body.0;
    let ws = workspaces::create(&state, &auth.actor(), &body.name, body.uid.as_deref()).await?;
    Ok(HttpResponse::Created().json(WorkspaceResource::new(ws, Default::default())))
}

/// One workspace with its counts.
#[utoipa::path(get, path = "/api/v1/workspaces/{workspace}", tag = "workspaces", params(WorkspacePath),
    responses((status = 200, body = WorkspaceResource), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn get_workspace(
    InstanceKey(auth): InstanceKey,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let listed = workspaces::get(&state, &auth.actor(), &workspace_key(&req)).await?;
    Ok(HttpResponse::Ok().json(WorkspaceResource::from(listed)))
}

/// The platform's upsert: the workspace with this uid gets the name, made when it does not
/// exist (201), updated when it does (200).
#[utoipa::path(put, path = "/api/v1/workspaces/{workspace}", tag = "workspaces", params(WorkspacePath),
    request_body = PutWorkspace,
    responses((status = 200, body = WorkspaceResource), (status = 201, body = WorkspaceResource),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn put_workspace(
    InstanceKey(auth): InstanceKey,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<PutWorkspace>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.actor();
    let (ws, created) = workspaces::put(&state, &actor, &workspace_key(&req), &body.0.name).await?;
    let listed = workspaces::get(&state, &actor, &ws.id).await?;
    let resource = WorkspaceResource::from(listed);
    Ok(if created {
        HttpResponse::Created().json(resource)
    } else {
        HttpResponse::Ok().json(resource)
    })
}

/// Rename a workspace or change its uid (null removes it).
#[utoipa::path(patch, path = "/api/v1/workspaces/{workspace}", tag = "workspaces", params(WorkspacePath),
    request_body = UpdateWorkspace,
    responses((status = 200, body = WorkspaceResource), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn update_workspace(
    InstanceKey(auth): InstanceKey,
    state: web::Data<AppState>,
    req: HttpRequest,
    body: ApiJson<UpdateWorkspace>,
) -> Result<HttpResponse, ApiError> {
    let actor = auth.actor();
    let change = Change {
        name: body.0.name,
        uid: body.0.uid,
    };
    let ws = workspaces::update(&state, &actor, &workspace_key(&req), change).await?;
    let listed = workspaces::get(&state, &actor, &ws.id).await?;
    Ok(HttpResponse::Ok().json(WorkspaceResource::from(listed)))
}

/// Delete a workspace with everything in it; the default workspace cannot be deleted (409).
#[utoipa::path(delete, path = "/api/v1/workspaces/{workspace}", tag = "workspaces", params(WorkspacePath),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The default workspace cannot be deleted", body = ErrorBody)),
    security(("api_key" = [])))]
pub async fn delete_workspace(
    InstanceKey(auth): InstanceKey,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    workspaces::delete(&state, &auth.actor(), &workspace_key(&req)).await?;
    Ok(HttpResponse::NoContent().finish())
}
