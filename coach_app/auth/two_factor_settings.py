"""The signed-in person's two-step sign-in page: enrol, recovery codes, devices, turn off."""

import segno
from flask import flash, make_response, redirect, render_template, url_for
from flask_login import current_user, login_required
from markupsafe import Markup

from coach_app.auth import bp, limits
from coach_app.auth.sessions import end_all_sessions, fresh_login_required, is_fresh
from coach_app.auth.two_factor import forget_device_cookie
from coach_app.auth.two_factor_forms import ActionForm, ConfirmForm, PasswordAndCodeForm
from coach_app.extensions import db
from coach_app.forms import apply_service_error
from coach_app.services import ServiceError, trusted_devices, two_factor_policy
from coach_app.services import two_factor as service


def _qr_svg(uri: str) -> Markup:
    # Inline SVG drawn here: no request to a QR service ever sees the secret.
    svg = segno.make(uri, error="m").svg_inline(
        scale=5,
        border=2,
        omitsize=True,
        svgclass="qr-code",
        title="QR code to scan with your authenticator app",
    )
    return Markup(svg)


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _no_store(response):
    # Secrets and recovery codes must not stay in a shared computer's cache.
    response.headers["Cache-Control"] = "no-store"
    return response


def _page(status: int = 200, **forms):
    user = current_user
    context = {
        "enabled": service.is_enabled(user),
        "required": two_factor_policy.enrolment_required(user),
        "action_form": ActionForm(),
        "confirm_form": forms.get("confirm_form") or ConfirmForm(),
        "codes_form": forms.get("codes_form") or PasswordAndCodeForm(prefix="codes"),
        "disable_form": forms.get("disable_form") or PasswordAndCodeForm(prefix="off"),
    }
    if context["enabled"]:
        context["remaining"] = service.remaining_recovery_codes(user)
        context["devices"] = trusted_devices.listed(user)
    else:
        secret = service.pending_secret(user)
        if secret is not None:
            context["secret"] = _grouped(secret)
            context["qr"] = _qr_svg(service.provisioning_uri(user, secret))
    response = make_response(render_template("auth/two_factor.html", **context), status)
    return _no_store(response)


def _codes_page(codes: list[str], heading: str):
    response = make_response(
        render_template("auth/two_factor_codes.html", codes=codes, heading=heading)
    )
    return _no_store(response)


@bp.get("/two-factor")
@fresh_login_required
def two_factor():
    """Two-step sign-in: its state, and what the person can do with it."""
    return _page()


@bp.post("/two-factor/setup")
@login_required
def two_factor_setup():
    """Start enrolment: make a new secret to scan (the password must have been typed lately)."""
    if not is_fresh():
        return redirect(url_for("auth.two_factor"))  # which asks for the password first
    if not ActionForm().validate_on_submit():
        return _page(400)
    try:
        service.begin_enrolment(current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(error.message, "info")
    else:
        db.session.commit()
    return redirect(url_for("auth.two_factor"))


@bp.post("/two-factor/cancel")
@login_required
def two_factor_cancel():
    """Abandon an enrolment that was not confirmed."""
    if ActionForm().validate_on_submit():
        service.cancel_enrolment(current_user)
        db.session.commit()
    return redirect(url_for("auth.two_factor"))


@bp.post("/two-factor/confirm")
@login_required
def two_factor_confirm():
    """Turn the second factor on with a current code; show the recovery codes once."""
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            codes = service.confirm_enrolment(current_user, form.code.data)
        except ServiceError as error:
            db.session.rollback()
            apply_service_error(form, error)
        else:
            db.session.commit()
            return _codes_page(codes, "Two-step sign-in is on")
    return _page(400, confirm_form=form)


def _with_password_and_code(form, action, where: str):
    """Run `action` (which checks the password and a code); audit a refused code."""
    try:
        result = action()
    except service.SecondFactorRefused as refused:
        db.session.rollback()
        service.record_failure(current_user, refused.reason, where=where)
        db.session.commit()
        apply_service_error(form, refused)
        return False, None
    except ServiceError as error:
        db.session.rollback()
        apply_service_error(form, error)
        return False, None
    db.session.commit()
    return True, result


def _too_many(form) -> bool:
    if service.too_many_failures(current_user):
        form.form_errors.append("Too many wrong codes lately. Wait a quarter of an hour.")
        return True
    return False


@bp.post("/two-factor/recovery-codes")
@limits.second_factor_per_address
@login_required
def two_factor_recovery_codes():
    """Replace the recovery codes (password and a code required); show the new ones once."""
    form = PasswordAndCodeForm(prefix="codes")
    if form.validate_on_submit() and not _too_many(form):
        done, codes = _with_password_and_code(
            form,
            lambda: service.regenerate_recovery_codes(
                current_user, form.password.data, form.code.data
            ),
            "recovery-codes",
        )
        if done:
            return _codes_page(codes, "Your new recovery codes")
    return _page(400, codes_form=form)


@bp.post("/two-factor/disable")
@limits.second_factor_per_address
@login_required
def two_factor_disable():
    """Turn the second factor off (password and a code required)."""
    form = PasswordAndCodeForm(prefix="off")
    if form.validate_on_submit() and not _too_many(form):
        done, _ = _with_password_and_code(
            form,
            lambda: _disable_and_sign_out_elsewhere(form),
            "disable",
        )
        if done:
            flash(
                "Two-step sign-in is off: every remembered device is forgotten, and your other "
                "sessions are signed out.",
                "success",
            )
            return redirect(url_for("auth.two_factor"))
    return _page(400, disable_form=form)


def _disable_and_sign_out_elsewhere(form) -> None:
    # A weaker sign-in from now on: sessions opened under the old one end (ASVS 2.8.6).
    service.disable(current_user, form.password.data, form.code.data)
    end_all_sessions(current_user, except_current=True)


@bp.post("/two-factor/devices/forget")
@login_required
def two_factor_forget_devices():
    """Forget every remembered device: each will be asked for a code again."""
    if ActionForm().validate_on_submit():
        count = trusted_devices.forget_all(current_user)
        db.session.commit()
        flash(
            f"Forgot {count} device{'s' if count != 1 else ''}. Each will be asked for a code.",
            "success",
        )
    response = redirect(url_for("auth.two_factor"))
    forget_device_cookie(response)
    return response
