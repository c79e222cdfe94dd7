"""Chalice entry points: wiring only. Everything else lives in chalicelib/."""

from chalice import Chalice

from chalicelib.transports.apigw import handle_chalice

app = Chalice(app_name="lambdavault")

_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "PATCH"]


@app.route("/v1/{proxy+}", methods=_METHODS, content_types=["*/*"])
def vault_api() -> object:
    """Every Vault API path: one greedy route, one pipeline."""
    return handle_chalice(app.current_request)
