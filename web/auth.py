"""Signing in and out, the current user, and the decorators that guard pages by role."""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from workflows.people import accounts, profiles
from workflows.people.actor import Actor

from .extensions import limiter, limits_off, login_manager
from .i18n import LANGUAGES, label
from .security import redirect_target, referrer_target
from .system import current_system

bp = Blueprint("auth", __name__)

__all__ = ["bp", "current_user", "login_required", "roles_required", "Staff"]


@dataclass(frozen=True)
class Staff:
    """The signed-in user as plain data (never a live database object)."""

    id: int
    username: str
    display_name: str
    role: str
    org_unit: str | None
    org_unit_name: str | None
    org_unit_level: str | None
    department: str | None
    department_name: str | None
    locale: str
    session_generation: int = 0

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def get_id(self) -> str:
        return str(self.id)

    @property
    def actor(self) -> Actor:
        """Who acts, for the use cases (resolved once, when the session's user is loaded)."""
        return Actor(id=self.id, username=self.username, role=self.role, org_unit=self.org_unit,
                     department=self.department, display_name=self.display_name,
                     org_unit_level=self.org_unit_level)

    @property
    def unit_label(self) -> str:
        return self.department_name or self.org_unit_name or ""


def init_app(app) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"


SESSION_GENERATION = "_generation"
"""The session key holding the user's session generation at sign-in; signing out, or a new
password, moves the user's generation on, so every older session (and copied cookie) ends."""


@login_manager.user_loader
def _load_user(user_id: str) -> Staff | None:
    staff = _staff(user_id)
    if staff is None or session.get(SESSION_GENERATION) != staff.session_generation:
        return None
    return staff


def _staff(user_id: str) -> Staff | None:
    data = profiles.load_profile(current_system(), user_id)
    return Staff(**data) if data else None


def roles_required(*roles: str):
    """Only signed-in users with one of ``roles`` may open the view; others get 403."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if current_user.role not in roles:
                abort(403, description=_("This page is for: %(roles)s.",
                                         roles=", ".join(role_label(r) for r in roles)))
            return view(*args, **kwargs)

        return wrapped

    return decorator


def role_label(role: str) -> str:

    return label("role", role)


def home_for(user) -> str:
    """Where a user starts: grid workers on patrol, leaders on the dashboard, the rest in the inbox."""
    views = current_app.view_functions
    wanted = {"grid_worker": "patrol.index", "leader": "dashboard.index"}.get(user.role, "inbox.index")
    for endpoint in (wanted, "inbox.index", "cases.index"):
        if endpoint in views:
            return url_for(endpoint)
    return url_for("auth.login")


@bp.get("/")
def home():
    if current_user.is_authenticated:
        return redirect(home_for(current_user))
    if "public.report" in current_app.view_functions:
        return redirect(url_for("public.report"))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("20 per minute", methods=["POST"], exempt_when=limits_off)
def login():
    if current_user.is_authenticated and request.method == "GET":
        return redirect(redirect_target(request.args.get("next")) or home_for(current_user))
    error = None
    username = ""
    target = redirect_target(request.args.get("next"))
    if request.method == "POST":
        username = (request.form.get("username") or "").strip()
        user = accounts.authenticate(current_system(), username, request.form.get("password") or "")
        if user is None:
            error = _("Wrong username or password. Check both and try again.")
        else:
            staff = _staff(str(user.id))
            session.clear()
            login_user(staff)
            session[SESSION_GENERATION] = staff.session_generation
            session["lang"] = staff.locale
            return redirect(target or home_for(staff))
    return render_template("auth/login.html", error=error, username=username), (401 if error else 200)


@bp.post("/logout")
def logout():
    lang = session.get("lang")
    if current_user.is_authenticated:
        profiles.end_sessions(current_system(), current_user.id)
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You are signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/lang/<code>", methods=["GET", "POST"])
def switch_language(code: str):

    if code not in LANGUAGES:
        abort(404, description=_("Unknown language %(code)s; choose zh or en.", code=code))
    session["lang"] = code
    if current_user.is_authenticated:
        profiles.set_locale(current_system(), current_user.id, code)
    return redirect(redirect_target(request.args.get("next")) or referrer_target() or url_for("auth.home"))
