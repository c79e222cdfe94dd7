"""Chalice entry points: wiring only. Everything else lives in chalicelib/."""

from chalice import Chalice

from chalicelib import jobs
from chalicelib.transports.apigw import BINARY_MEDIA_TYPES, handle_chalice

# configure_logs=False: Chalice's logger has the app's name, which is also Powertools'
# service logger; Chalice would add a plain-text handler and set ERROR on it, so every line
# would be written twice (once unstructured) and levels would depend on import order.
app = Chalice(app_name="lambdavault", configure_logs=False)
# Vault's API is JSON in and out, except pki's DER certificates, CRLs and OCSP messages:
# API Gateway passes those through (base64) only for the media types listed here.
app.api.binary_types = list(BINARY_MEDIA_TYPES)

_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]


@app.route("/v1/{proxy+}", methods=_METHODS, content_types=["*/*"])
def vault_api() -> object:
    """Every Vault API path: one greedy route, one pipeline."""
    return handle_chalice(app.current_request)


_UI_METHODS = ["GET", "HEAD"]


@app.route("/ui", methods=_UI_METHODS)
@app.route("/ui/{proxy+}", methods=_UI_METHODS)
def web_ui() -> object:
    """The web UI's static files: same origin as the API it calls (chalicelib/ui/serve.py)."""
    from chalicelib.ui.serve import serve_ui

    return serve_ui(app.current_request)


@app.lambda_function(name="invoke")
def invoke(event: object, context: object) -> dict[str, object]:
    """Lambda-to-Lambda calls: the same pipeline, without API Gateway in between."""
    from chalicelib.transports.invoke import handle_invoke

    return handle_invoke(event, getattr(context, "aws_request_id", None))


@app.schedule(jobs.LEASE_SWEEP.expression, name=jobs.LEASE_SWEEP.name)
def sweep_leases(event: object) -> None:
    """Revoke the leases that are due (Vault's expiration manager, minute by minute)."""
    jobs.run(jobs.LEASE_SWEEP)


@app.schedule(jobs.TOKEN_TIDY.expression, name=jobs.TOKEN_TIDY.name)
def tidy_tokens(event: object) -> None:
    """Revoke expired tokens and repair the token store's indexes."""
    jobs.run(jobs.TOKEN_TIDY)


@app.schedule(jobs.TRANSIT_ROTATION.expression, name=jobs.TRANSIT_ROTATION.name)
def rotate_transit_keys(event: object) -> None:
    """Rotate transit keys whose auto_rotate_period has passed."""
    jobs.run(jobs.TRANSIT_ROTATION)


@app.schedule(jobs.APPROLE_TIDY.expression, name=jobs.APPROLE_TIDY.name)
def tidy_approle(event: object) -> None:
    """Delete expired approle secret IDs and accessors left without one, on every mount."""
    jobs.run(jobs.APPROLE_TIDY)


@app.schedule(jobs.DATABASE_ROTATION.expression, name=jobs.DATABASE_ROTATION.name)
def rotate_database_roles(event: object) -> None:
    """Rotate the passwords of static database roles that are due."""
    jobs.run(jobs.DATABASE_ROTATION)


@app.schedule(jobs.PKI_TIDY.expression, name=jobs.PKI_TIDY.name)
def tidy_pki(event: object) -> None:
    """Resume unfinished pki tidies and run auto-tidy where it is due."""
    jobs.run(jobs.PKI_TIDY)


@app.schedule(jobs.ROTATE_KEYRING.expression, name=jobs.ROTATE_KEYRING.name)
def rotate_keyring(event: object) -> None:
    """Rotate the barrier key when sys/rotate/keyring/config says it is due."""
    jobs.run(jobs.ROTATE_KEYRING)
