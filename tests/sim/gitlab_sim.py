#!/usr/bin/env python3
"""GitLab simulator: the REST v4 subset runnerfleet uses (runners, managers, jobs, users).

Follows shared/reference/gitlab_api.md §1, §3, §4 and §6: the three error-body shapes
(``{"error":..}`` from parameter validation, ``{"message":"..."}`` from helpers,
``{"message":{field:[..]}}`` from model validation), the exact offset-pagination headers,
RateLimit-* headers on every API response, and runner status computed from contacted_at the
way REST v4 reports it.  README.md lists where it had to guess.

    gitlab_sim.py --dir SIM_DIR [--plain]      (normally started by tests/sim/up)
"""

import math
import os
import re
import secrets
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from simcore import (Response, Service, SimServer, env_float, json_response, load_identity,  # noqa: E402
                     main_args, run)

API = "/api/v4"
ONLINE_TIMEOUT = 2 * 3600            # contacted within 2 h: online
STALE_TIMEOUT = 7 * 24 * 3600        # created/contacted more than 7 days ago: stale
RUNNER_TYPES = ("instance_type", "group_type", "project_type")
STATUSES = ("online", "offline", "stale", "never_contacted", "active", "paused")
ACCESS_LEVELS = ("not_protected", "ref_protected")
UPDATE_FIELDS = ("description", "active", "paused", "tag_list", "run_untagged", "locked", "access_level",
                 "maximum_timeout", "maintenance_note")
JOB_STATUSES = ("created", "waiting_for_resource", "preparing", "pending", "running", "success", "failed",
                "canceling", "canceled", "skipped", "manual", "scheduled", "waiting_for_callback")
TRUE = ("1", "true", "t", "yes", "y", "on")
FALSE = ("0", "false", "f", "no", "n", "off")
RATE_LIMIT = int(os.environ.get("SIM_GITLAB_RATE_LIMIT", "2000"))         # per minute, authenticated
RATE_LIMIT_ANON = int(os.environ.get("SIM_GITLAB_RATE_LIMIT_ANON", "500"))  # per minute, per IP


class GLError(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def gl_time(ts):
    if ts is None:
        return None
    return "%s.%03dZ" % (time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)), int((ts % 1) * 1000))


def to_sentence(msgs):
    """Rails' Array#to_sentence, which joins full validation messages."""
    if len(msgs) <= 2:
        return " and ".join(msgs)
    return ", ".join(msgs[:-1]) + ", and " + msgs[-1]


def not_found(what=None):
    return GLError(404, {"message": "404 %s Not Found" % what if what else "404 Not found"})


def forbidden(reason=None):
    return GLError(403, {"message": "403 Forbidden" + (" - " + reason if reason else "")})


class Params:
    """Query and body parameters merged (as Grape does), with Grape-style coercion errors."""

    def __init__(self, req):
        self.values = {}
        self._put_pairs(req.query)
        if req.body:
            if req.is_json():
                try:
                    body = req.json()
                except (ValueError, UnicodeDecodeError):
                    raise GLError(400, {"error": "The provided content-type 'application/json' is not "
                                                 "supported or the body is not valid JSON."}) from None
                if isinstance(body, dict):
                    self.values.update(body)
            else:
                self._put_pairs(req.form())
        self.errors = []

    def _put_pairs(self, pairs):
        """Query-string or form pairs: ``name[]`` collects a list, otherwise the last value wins."""
        for k, vs in pairs.items():
            if k.endswith("[]"):
                self.values[k[:-2]] = list(vs)
            else:
                self.values[k] = vs[-1]

    def __contains__(self, name):
        return name in self.values

    def raw(self, name):
        return self.values.get(name)

    def str(self, name):
        v = self.values.get(name)
        if v is None:
            return None
        if isinstance(v, (dict, list)):
            self.errors.append("%s is invalid" % name)
            return None
        return str(v)

    def bool(self, name):
        v = self.values.get(name)
        if v is None or isinstance(v, bool):
            return v
        if str(v).lower() in TRUE:
            return True
        if str(v).lower() in FALSE:
            return False
        self.errors.append("%s is invalid" % name)
        return None

    def int(self, name):
        v = self.values.get(name)
        if v is None or (isinstance(v, int) and not isinstance(v, bool)):
            return v
        if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
            return int(v)
        self.errors.append("%s is invalid" % name)
        return None

    def values_of(self, name, allowed):
        v = self.str(name)
        if v is not None and v not in allowed:
            self.errors.append("%s does not have a valid value" % name)
            return None
        return v

    def tags(self, name):
        v = self.values.get(name)
        if v is None:
            return None
        if isinstance(v, str):
            v = v.split(",")
        if not isinstance(v, list) or not all(isinstance(t, str) for t in v):
            self.errors.append("%s is invalid" % name)
            return None
        out = []
        for t in (t.strip() for t in v):
            if t and t not in out:
                out.append(t)
        return out

    def check(self):
        if self.errors:
            raise GLError(400, {"error": ", ".join(self.errors)})


class GitLabService(Service):
    name = "gitlab"

    def __init__(self, ident):
        self.ident = ident
        self.lock = threading.RLock()
        self.throttle = os.environ.get("SIM_GITLAB_THROTTLE") == "1"
        self.retry_after = int(env_float("SIM_GITLAB_RETRY_AFTER", 1))
        self.routes = [(method, re.compile(pattern), getattr(self, handler)) for method, pattern, handler in (
            ("POST", r"/user/runners", "create_runner"),
            ("GET", r"/user", "get_user"),
            ("GET", r"/version", "get_version"),
            ("GET", r"/runners", "list_owned"),
            ("POST", r"/runners", "legacy_register"),
            ("DELETE", r"/runners", "delete_by_token"),
            ("GET", r"/runners/all", "list_all"),
            ("POST", r"/runners/verify", "verify"),
            ("DELETE", r"/runners/managers", "delete_manager"),
            ("POST", r"/runners/reset_authentication_token", "reset_by_token"),
            ("GET", r"/runners/(\d+)", "get_runner"),
            ("PUT", r"/runners/(\d+)", "update_runner"),
            ("DELETE", r"/runners/(\d+)", "delete_runner"),
            ("GET", r"/runners/(\d+)/managers", "list_managers"),
            ("GET", r"/runners/(\d+)/jobs", "list_runner_jobs"),
            ("POST", r"/runners/(\d+)/reset_authentication_token", "reset_by_id"),
            ("GET", r"/projects/([^/]+)/runners", "list_project_runners"),
            ("GET", r"/groups/([^/]+)/runners", "list_group_runners"),
            ("GET", r"/projects/([^/]+)/jobs", "list_project_jobs"),
            ("GET", r"/projects/([^/]+)/jobs/(\d+)", "get_project_job"),
            ("GET", r"/projects/([^/]+)", "get_project"),
            ("GET", r"/groups/([^/]+)", "get_group"),
        )]
        self.reset()

    # -- seeded state ---------------------------------------------------------------------

    def reset(self):
        with self.lock:
            now = time.time()
            self.users = {1: {"id": 1, "username": "runnerfleet-bot", "name": "runnerfleet bot", "admin": True}}
            self.tokens = {self.ident["gitlab_api_token"]: {"user_id": 1, "scopes": ["api", "create_runner"],
                                                            "expires_at": None, "revoked": False}}
            self.groups = {77: {"id": 77, "name": "platform", "path": "platform", "full_path": "platform",
                                "owners": {1}, "created_at": now - 86400 * 30}}
            self.projects = {}
            for pid, path in ((12345, "team-a"), (23456, "team-b")):
                self.projects[pid] = {"id": pid, "name": path, "path": path, "group_id": 77,
                                      "path_with_namespace": "platform/" + path, "created_at": now - 86400 * 30}
            self.runners = {}
            self.runner_tokens = {}
            self.next_runner_id = 4100
            self.next_manager_id = 900
            self.rate = {}
            seeded = self.new_runner(
                "project_type", 1, now, description="azure-vmss-runner-team-b", tag_list=["azure", "vmss"],
                run_untagged=False, projects=[23456], token=self.ident["gitlab_runner_token"])
            seeded["creator_id"] = None          # made "in the UI"

    def new_runner(self, runner_type, creator_id, now, token=None, **fields):
        rid = self.next_runner_id
        self.next_runner_id += 1
        runner = {"id": rid, "runner_type": runner_type, "description": "", "active": True, "tag_list": [],
                  "run_untagged": True, "locked": False, "maximum_timeout": None, "access_level": "not_protected",
                  "maintenance_note": None, "created_at": now, "contacted_at": None, "projects": [], "groups": [],
                  "creator_id": creator_id, "token": token or self.new_token(), "token_expires_at": None,
                  "managers": {}}
        runner.update(fields)
        self.runners[rid] = runner
        self.runner_tokens[runner["token"]] = rid
        return runner

    @staticmethod
    def new_token():
        return "glrt-t1_" + secrets.token_urlsafe(15)[:20]

    def state(self):
        with self.lock:
            runners = {}
            for r in self.runners.values():
                doc = self.runner_details(r, "")
                doc.update(token=r["token"], token_expires_at=r["token_expires_at"],
                           managers=[self.manager_json(m) for m in r["managers"].values()])
                runners[str(r["id"])] = doc
            return {"runners": runners,
                    "users": {str(u["id"]): dict(u) for u in self.users.values()},
                    "tokens": {t: dict(v) for t, v in self.tokens.items()},
                    "projects": {str(p["id"]): self.project_json(p, "") for p in self.projects.values()},
                    "groups": {str(g["id"]): self.group_json(g, "") for g in self.groups.values()}}

    def control(self, req, sub):
        body = req.json() or {}
        with self.lock:
            if sub == "tokens" and req.method == "POST":
                return self.control_token(body)
            m = re.fullmatch(r"runners/(\d+)", sub)
            if m and req.method == "POST":
                runner = self.runners.get(int(m.group(1)))
                if runner is None:
                    return json_response(404, {"error": "no runner %s" % m.group(1)})
                now = time.time()
                if "contacted_seconds_ago" in body:
                    ago = body["contacted_seconds_ago"]
                    runner["contacted_at"] = None if ago is None else now - float(ago)
                if "created_seconds_ago" in body:
                    runner["created_at"] = now - float(body["created_seconds_ago"])
                if "token_expires_at" in body:
                    runner["token_expires_at"] = body["token_expires_at"]
                return json_response(200, self.runner_details(runner, req.base_url))
        return None

    def control_token(self, body):
        """POST /_sim/tokens: a PAT for any user (made on the fly, not admin unless asked)."""
        username = body.get("username", "runnerfleet-bot")
        user = next((u for u in self.users.values() if u["username"] == username), None)
        if user is None:
            uid = max(self.users) + 1
            user = self.users[uid] = {"id": uid, "username": username, "name": username,
                                      "admin": bool(body.get("admin"))}
        token = "glpat-" + secrets.token_urlsafe(15)[:20]
        self.tokens[token] = {"user_id": user["id"], "scopes": list(body.get("scopes", ["api"])),
                              "expires_at": body.get("expires_at"), "revoked": bool(body.get("revoked"))}
        return json_response(201, {"token": token, "user_id": user["id"]})

    # -- HTTP plumbing --------------------------------------------------------------------

    def fault_response(self, req, fault):
        if fault.body is not None:
            return Response(fault.status, fault.body)
        if fault.status == 429:      # Rack::Attack's plain-text answer
            resp = Response(429, "Retry later\n")
            resp.set_header("Retry-After", str(self.retry_after))
            return resp
        text = {400: "400 Bad request", 401: "401 Unauthorized", 403: "403 Forbidden", 404: "404 Not found",
                409: "409 Conflict", 422: "422 Unprocessable Entity", 500: "500 Internal Server Error",
                502: "502 Bad Gateway", 503: "503 Service Unavailable"}.get(fault.status, "%d Error" % fault.status)
        return Response(fault.status, {"message": text})

    def finalize(self, req, resp):
        rl = getattr(req, "ratelimit", None)
        if rl is None:
            rl = self.count_request(req, consume=False)
        name, limit, observed, reset = rl
        resp.set_header("RateLimit-Name", name)
        resp.set_header("RateLimit-Limit", str(limit))
        resp.set_header("RateLimit-Observed", str(observed))
        resp.set_header("RateLimit-Remaining", str(max(0, limit - observed)))
        resp.set_header("RateLimit-Reset", str(reset))
        if resp.status == 429:
            resp.set_header("RateLimit-ResetTime", time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(reset)))
        resp.set_header("Cache-Control", "max-age=0, private, must-revalidate")
        resp.set_header("X-Request-Id", secrets.token_hex(13).upper())

    def count_request(self, req, consume=True):
        """Rack::Attack's per-minute counter for the caller (token's user, else client IP)."""
        token = self.token_of(req)
        entry = self.tokens.get(token) if token else None
        if entry is not None:
            key, name, limit = "user:%d" % entry["user_id"], "throttle_authenticated_api", RATE_LIMIT
        else:
            key, name, limit = "ip:" + req.client_ip, "throttle_unauthenticated_api", RATE_LIMIT_ANON
        window = int(time.time() // 60) * 60
        with self.lock:
            start, count = self.rate.get(key, (window, 0))
            if start != window:
                start, count = window, 0
            if consume:
                count += 1
                self.rate[key] = (start, count)
        return name, limit, count, window + 60

    @staticmethod
    def token_of(req):
        token = req.header("PRIVATE-TOKEN")
        auth = req.header("Authorization") or ""
        if not token and auth.lower().startswith("bearer "):
            token = auth[7:].strip()
        return token or req.q("private_token")

    def handle(self, req):
        req.ratelimit = self.count_request(req)
        name, limit, observed, reset = req.ratelimit
        if self.throttle and observed > limit:
            return Response(429, "Retry later\n", {"Retry-After": str(max(1, int(reset - time.time())))})
        if not (req.path == API or req.path.startswith(API + "/")):
            return json_response(404, {"error": "404 Not Found"})
        sub = req.path[len(API):] or "/"
        allowed = []
        for method, pattern, handler in self.routes:
            m = pattern.fullmatch(sub)
            if m is None:
                continue
            if method != req.method and not (method == "GET" and req.method == "HEAD"):
                allowed.append(method)
                continue
            try:
                with self.lock:
                    return handler(req, *m.groups())
            except GLError as e:
                return Response(e.status, e.body, e.headers)
        if allowed:
            return Response(405, {"error": "405 Not Allowed"}, {"Allow": ", ".join(sorted(set(allowed)))})
        return json_response(404, {"error": "404 Not Found"})

    # -- authentication and permissions --------------------------------------------------

    def authenticate(self, req, scopes):
        """The user behind the request's token; 401/403 the way GitLab's API guard answers."""
        token = self.token_of(req)
        entry = self.tokens.get(token) if token else None
        if entry is None:
            raise GLError(401, {"message": "401 Unauthorized"})
        if entry["revoked"]:
            raise GLError(401, {"error": "invalid_token",
                                "error_description": "Token was revoked. You have to re-authorize from the user."},
                          {"WWW-Authenticate": 'Bearer realm="The API", error="invalid_token", '
                                               'error_description="Token was revoked. You have to re-authorize '
                                               'from the user."'})
        if entry["expires_at"] and entry["expires_at"] < time.strftime("%Y-%m-%d", time.gmtime()):
            raise GLError(401, {"error": "invalid_token",
                                "error_description": "Token is expired. You can either do re-authorization or "
                                                     "token refresh."},
                          {"WWW-Authenticate": 'Bearer realm="The API", error="invalid_token", '
                                               'error_description="Token is expired. You can either do '
                                               're-authorization or token refresh."'})
        if not set(entry["scopes"]) & set(scopes):
            raise GLError(403, {"error": "insufficient_scope",
                                "error_description": "The request requires higher privileges than provided by the "
                                                     "access token.",
                                "scope": " ".join(scopes)},
                          {"WWW-Authenticate": 'Bearer realm="The API", error="insufficient_scope", '
                                               'error_description="The request requires higher privileges than '
                                               'provided by the access token.", scope="%s"' % " ".join(scopes)})
        return self.users[entry["user_id"]]

    READ = ("api", "read_api")
    RUNNER_READ = ("api", "read_api", "manage_runner")
    RUNNER_WRITE = ("api", "manage_runner")

    def owns_group(self, user, gid):
        return user["admin"] or user["id"] in self.groups.get(gid, {}).get("owners", ())

    def owns_project(self, user, pid):
        p = self.projects.get(pid)
        return p is not None and (user["admin"] or self.owns_group(user, p["group_id"]))

    def can_admin_runner(self, user, runner):
        if user["admin"]:
            return True
        if runner["runner_type"] == "group_type":
            return any(self.owns_group(user, g) for g in runner["groups"])
        if runner["runner_type"] == "project_type":
            return any(self.owns_project(user, p) for p in runner["projects"])
        return False

    def find_runner(self, user, rid):
        runner = self.runners.get(int(rid))
        if runner is None:
            raise not_found()
        if not self.can_admin_runner(user, runner) and runner["runner_type"] != "instance_type":
            raise forbidden("No access granted")
        return runner

    def find_project(self, user, ident):
        ident = urllib.parse.unquote(ident)
        project = self.projects.get(int(ident)) if ident.isdigit() else next(
            (p for p in self.projects.values() if p["path_with_namespace"] == ident), None)
        if project is None or not self.owns_project(user, project["id"]):
            raise not_found("Project")
        return project

    def find_group(self, user, ident):
        ident = urllib.parse.unquote(ident)
        group = self.groups.get(int(ident)) if ident.isdigit() else next(
            (g for g in self.groups.values() if g["full_path"] == ident), None)
        if group is None or not self.owns_group(user, group["id"]):
            raise not_found("Group")
        return group

    def runner_by_token(self, params):
        token = params.str("token")
        if token is None:
            raise GLError(400, {"error": "token is missing"})
        rid = self.runner_tokens.get(token)
        runner = self.runners.get(rid) if rid is not None else None
        if runner is None:
            raise forbidden()
        exp = runner["token_expires_at"]
        if exp and exp < gl_time(time.time()):
            raise forbidden()
        return runner

    # -- entities -------------------------------------------------------------------------

    @staticmethod
    def status(record, now):
        """REST v4's status, in the reference's order: stale, never_contacted, online/offline,
        paused (runners only: managers have no ``active``)."""
        contacted = record["contacted_at"]
        if now - record["created_at"] > STALE_TIMEOUT and (contacted is None or now - contacted > STALE_TIMEOUT):
            return "stale"
        if contacted is None:
            return "never_contacted"
        if record.get("active", True):
            return "online" if now - contacted < ONLINE_TIMEOUT else "offline"
        return "paused"

    def runner_basic(self, runner, base_url):
        now = time.time()
        contacted = runner["contacted_at"]
        out = {"id": runner["id"], "description": runner["description"], "ip_address": "",
               "active": runner["active"], "paused": not runner["active"],
               "is_shared": runner["runner_type"] == "instance_type", "runner_type": runner["runner_type"],
               "name": runner.get("name"),
               "online": None if contacted is None else now - contacted < ONLINE_TIMEOUT,
               "status": self.status(runner, now)}
        creator = self.users.get(runner["creator_id"])
        if creator is not None:
            out["created_by"] = self.user_basic(creator, base_url)
        out["created_at"] = gl_time(runner["created_at"])
        out["job_execution_status"] = "idle"
        return out

    def runner_details(self, runner, base_url):
        out = self.runner_basic(runner, base_url)
        latest = max(runner["managers"].values(), key=lambda m: m["contacted_at"] or 0, default=None)
        out.update({
            "tag_list": list(runner["tag_list"]), "run_untagged": runner["run_untagged"], "locked": runner["locked"],
            "maximum_timeout": runner["maximum_timeout"], "access_level": runner["access_level"],
            "version": latest and latest["version"], "revision": latest and latest["revision"],
            "platform": latest and latest["platform"], "architecture": latest and latest["architecture"],
            "contacted_at": gl_time(runner["contacted_at"]), "maintenance_note": runner["maintenance_note"],
            "projects": [self.project_json(self.projects[p], base_url) for p in runner["projects"]
                         if p in self.projects],
            "groups": [{"id": g, "web_url": "%s/groups/%s" % (base_url, self.groups[g]["full_path"]),
                        "name": self.groups[g]["name"]} for g in runner["groups"] if g in self.groups]})
        return out

    def manager_json(self, m):
        return {"id": m["id"], "system_id": m["system_id"], "version": m["version"], "revision": m["revision"],
                "platform": m["platform"], "architecture": m["architecture"], "created_at": gl_time(m["created_at"]),
                "contacted_at": gl_time(m["contacted_at"]), "ip_address": m["ip_address"],
                "status": self.status(m, time.time()),
                "job_execution_status": "idle"}

    @staticmethod
    def user_basic(user, base_url):
        return {"id": user["id"], "username": user["username"], "name": user["name"], "state": "active",
                "locked": False, "avatar_url": None, "web_url": "%s/%s" % (base_url, user["username"])}

    def project_json(self, p, base_url):
        return {"id": p["id"], "description": None, "name": p["name"],
                "name_with_namespace": "%s / %s" % (self.groups[p["group_id"]]["name"], p["name"]),
                "path": p["path"], "path_with_namespace": p["path_with_namespace"],
                "created_at": gl_time(p["created_at"]), "default_branch": "main",
                "web_url": "%s/%s" % (base_url, p["path_with_namespace"]),
                "namespace": {"id": p["group_id"], "name": self.groups[p["group_id"]]["name"],
                              "path": self.groups[p["group_id"]]["path"], "kind": "group",
                              "full_path": self.groups[p["group_id"]]["full_path"]}}

    @staticmethod
    def group_json(g, base_url):
        return {"id": g["id"], "web_url": "%s/groups/%s" % (base_url, g["full_path"]), "name": g["name"],
                "path": g["path"], "full_path": g["full_path"], "parent_id": None, "visibility": "private",
                "created_at": gl_time(g["created_at"])}

    # -- pagination -----------------------------------------------------------------------

    @staticmethod
    def paginate(req, items, with_count=True):
        """Offset pagination with the headers of OffsetHeaderBuilder (reference §3.5)."""
        params = Params(req)
        page, per_page = params.int("page"), params.int("per_page")
        params.check()
        page = page if page and page > 0 else 1
        per_page = 20 if not per_page or per_page < 1 else min(per_page, 100)
        total = len(items)
        total_pages = max(1, math.ceil(total / per_page))
        chunk = items[(page - 1) * per_page:page * per_page]
        has_next = page * per_page < total
        in_range = page <= total_pages
        headers = [("X-Per-Page", str(per_page)), ("X-Page", str(page)),
                   ("X-Next-Page", str(page + 1) if has_next else ""),
                   ("X-Prev-Page", str(page - 1) if page > 1 and in_range else "")]
        query = sorted((k, v) for k, vs in req.query.items() for v in vs if k not in ("page", "per_page"))

        def href(n):
            q = sorted(query + [("page", str(n)), ("per_page", str(per_page))])
            return "<%s%s?%s>" % (req.base_url, req.path, urllib.parse.urlencode(q))
        links = []
        if page > 1 and in_range:
            links.append('%s; rel="prev"' % href(page - 1))
        if has_next:
            links.append('%s; rel="next"' % href(page + 1))
        links.append('%s; rel="first"' % href(1))
        if with_count:
            links.append('%s; rel="last"' % href(total_pages))
        headers.append(("Link", ", ".join(links)))
        if with_count:
            headers += [("X-Total", str(total)), ("X-Total-Pages", str(total_pages))]
        return chunk, headers

    def runner_list(self, req, runners, allowed_scopes):
        """Filter (type, status, paused, tag_list, version_prefix, scope), sort by id, paginate."""
        p = Params(req)
        rtype = p.values_of("type", RUNNER_TYPES)
        status = p.values_of("status", STATUSES)
        paused = p.bool("paused")
        tags = p.tags("tag_list")
        scope = p.values_of("scope", allowed_scopes) if allowed_scopes else None   # undeclared: ignored
        prefix = p.str("version_prefix")
        p.check()
        now = time.time()
        out = []
        for r in sorted(runners, key=lambda r: r["id"]):
            contacted = r["contacted_at"]
            if rtype and r["runner_type"] != rtype:
                continue
            if paused is not None and r["active"] == paused:
                continue
            if tags and not set(tags) <= set(r["tag_list"]):
                continue
            if prefix and not any((m["version"] or "").startswith(prefix) for m in r["managers"].values()):
                continue
            ok = True
            for st in (status, scope):
                if st is None:
                    continue
                if st == "online":
                    ok = ok and contacted is not None and now - contacted < ONLINE_TIMEOUT
                elif st == "offline":
                    ok = ok and contacted is not None and now - contacted >= ONLINE_TIMEOUT
                elif st == "never_contacted":
                    ok = ok and contacted is None
                elif st == "stale":
                    ok = ok and self.status(r, now) == "stale"
                elif st == "active":
                    ok = ok and r["active"]
                elif st == "paused":
                    ok = ok and not r["active"]
                elif st == "specific":
                    ok = ok and r["runner_type"] != "instance_type"
                elif st == "shared":
                    ok = ok and r["runner_type"] == "instance_type"
            if ok:
                out.append(r)
        chunk, headers = self.paginate(req, out)
        return Response(200, [self.runner_basic(r, req.base_url) for r in chunk], headers)

    # -- runner endpoints with a user token ----------------------------------------------

    def create_runner(self, req):
        """POST /user/runners (reference §1.1)."""
        user = self.authenticate(req, ("api", "create_runner"))
        p = Params(req)
        rtype = p.str("runner_type")
        if rtype is None:
            p.errors.append("runner_type is missing")
        elif rtype not in RUNNER_TYPES:
            p.errors.append("runner_type does not have a valid value")
        for needed, kind in (("group_id", "group_type"), ("project_id", "project_type")):
            if rtype == kind and needed not in p:
                p.errors.append("%s is missing" % needed)
        group_id, project_id = p.int("group_id"), p.int("project_id")
        fields = self.runner_fields(p)
        p.check()
        now = time.time()
        scope_fields = {}
        if rtype == "instance_type":
            if not user["admin"]:
                raise forbidden("Insufficient permissions")
        elif rtype == "group_type":
            if group_id not in self.groups:
                raise GLError(400, {"message": "400 Bad request - Missing/invalid group"})
            if not self.owns_group(user, group_id):
                raise forbidden("Insufficient permissions")
            scope_fields["groups"] = [group_id]
        else:
            if project_id not in self.projects:
                raise GLError(400, {"message": "400 Bad request - Missing/invalid project"})
            if not self.owns_project(user, project_id):
                raise forbidden("Insufficient permissions")
            scope_fields["projects"] = [project_id]
        candidate = {"description": "", "tag_list": [], "run_untagged": True, "maximum_timeout": None,
                     "maintenance_note": None}
        candidate.update(fields)
        errors = self.validate(candidate)
        if errors:
            full = [self.full_message(field, msg) for field, msgs in errors.items() for msg in msgs]
            raise GLError(400, {"message": "400 Bad request - " + to_sentence(full)})
        runner = self.new_runner(rtype, user["id"], now, **fields, **scope_fields)
        return json_response(201, {"id": runner["id"], "token": runner["token"],
                                   "token_expires_at": runner["token_expires_at"]})

    @staticmethod
    def runner_fields(p):
        """The optional runner attributes of POST /user/runners and PUT /runners/:id, coerced."""
        out = {}
        for name in ("description", "maintenance_note"):
            if name in p:
                out[name] = p.str(name) or ""
        if "paused" in p:
            paused = p.bool("paused")
            if paused is not None:
                out["active"] = not paused
        if "active" in p:
            active = p.bool("active")
            if active is not None:
                out["active"] = active
        for name in ("locked", "run_untagged"):
            if name in p:
                value = p.bool(name)
                if value is not None:
                    out[name] = value
        if "tag_list" in p:
            tags = p.tags("tag_list")
            if tags is not None:
                out["tag_list"] = tags
        if "access_level" in p:
            level = p.values_of("access_level", ACCESS_LEVELS)
            if level is not None:
                out["access_level"] = level
        if "maximum_timeout" in p:
            if p.raw("maximum_timeout") in (None, ""):
                out["maximum_timeout"] = None
            else:
                value = p.int("maximum_timeout")
                if value is not None:
                    out["maximum_timeout"] = value
        return out

    @staticmethod
    def validate(r):
        """Ci::Runner's model validations: {attribute: [messages]}."""
        errors = {}
        if len(r.get("description") or "") > 1024:
            errors.setdefault("description", []).append("is too long (maximum is 1024 characters)")
        if len(r.get("maintenance_note") or "") > 1024:
            errors.setdefault("maintenance_note", []).append("is too long (maximum is 1024 characters)")
        if len(r["tag_list"]) > 50:
            errors.setdefault("tag_list", []).append("Too many tags specified. Please limit the number of tags to 50")
        if not r["tag_list"] and not r["run_untagged"]:
            errors.setdefault("tags_list", []).append(
                "can not be empty when runner is not allowed to pick untagged jobs")
        if r.get("maximum_timeout") is not None and r["maximum_timeout"] < 600:
            errors.setdefault("maximum_timeout", []).append("needs to be at least 10 minutes")
        return errors

    @staticmethod
    def full_message(field, msg):
        return "%s %s" % (field.replace("_", " ").capitalize(), msg)

    def get_user(self, req):
        user = self.authenticate(req, self.READ)
        out = self.user_basic(user, req.base_url)
        out.update(is_admin=user["admin"], bot=False, created_at=gl_time(time.time() - 86400 * 30))
        return json_response(200, out)

    def get_version(self, req):
        self.authenticate(req, self.READ)
        return json_response(200, {"version": "17.11.0", "revision": "0f67ff19", "kas": {"enabled": False},
                                   "enterprise": False})

    def list_owned(self, req):
        user = self.authenticate(req, self.RUNNER_READ)
        owned = [r for r in self.runners.values() if r["runner_type"] != "instance_type"
                 and self.can_admin_runner(user, r)]
        return self.runner_list(req, owned, ("active", "paused", "online", "offline"))

    def list_all(self, req):
        user = self.authenticate(req, self.RUNNER_READ)
        if not user["admin"]:
            raise forbidden()
        return self.runner_list(req, list(self.runners.values()),
                                ("specific", "shared", "active", "paused", "online", "offline"))

    def list_project_runners(self, req, ident):
        user = self.authenticate(req, self.RUNNER_READ)
        project = self.find_project(user, ident)
        runners = [r for r in self.runners.values()
                   if (r["runner_type"] == "project_type" and project["id"] in r["projects"])
                   or (r["runner_type"] == "group_type" and project["group_id"] in r["groups"])
                   or r["runner_type"] == "instance_type"]
        return self.runner_list(req, runners, ("active", "paused", "online", "offline"))

    def list_group_runners(self, req, ident):
        user = self.authenticate(req, self.RUNNER_READ)
        group = self.find_group(user, ident)
        runners = [r for r in self.runners.values()
                   if (r["runner_type"] == "group_type" and group["id"] in r["groups"])
                   or r["runner_type"] == "instance_type"]
        return self.runner_list(req, runners, ())

    def get_runner(self, req, rid):
        user = self.authenticate(req, self.RUNNER_READ)
        runner = self.find_runner(user, rid)
        out = self.runner_details(runner, req.base_url)
        if not self.can_admin_runner(user, runner):
            out["maintenance_note"] = None
        return json_response(200, out)

    def update_runner(self, req, rid):
        """PUT /runners/:id (reference §1.4): Grape errors first, then model validation."""
        user = self.authenticate(req, self.RUNNER_WRITE)
        runner = self.find_runner(user, rid)
        if not self.can_admin_runner(user, runner):
            raise forbidden("No access granted")
        p = Params(req)
        if not any(f in p for f in UPDATE_FIELDS):
            raise GLError(400, {"error": "%s are missing, at least one parameter must be provided"
                                         % ", ".join(UPDATE_FIELDS)})
        if "active" in p and "paused" in p:
            raise GLError(400, {"error": "active, paused are mutually exclusive"})
        fields = self.runner_fields(p)
        p.check()
        candidate = dict(runner, **fields)
        errors = self.validate(candidate)
        if errors:
            raise GLError(400, {"message": errors})
        runner.update(fields)
        return json_response(200, self.runner_details(runner, req.base_url))

    def delete_runner(self, req, rid):
        user = self.authenticate(req, self.RUNNER_WRITE)
        runner = self.find_runner(user, rid)
        if not self.can_admin_runner(user, runner):
            raise forbidden("No access granted")
        if runner["runner_type"] == "project_type" and len(runner["projects"]) > 1 and not user["admin"]:
            raise forbidden("Runner associated with more than one project")
        self.drop_runner(runner)
        return Response(204)

    def drop_runner(self, runner):
        self.runner_tokens.pop(runner["token"], None)
        del self.runners[runner["id"]]

    def list_managers(self, req, rid):
        user = self.authenticate(req, self.RUNNER_READ)
        runner = self.find_runner(user, rid)
        return json_response(200, [self.manager_json(m) for m in runner["managers"].values()])

    def list_runner_jobs(self, req, rid):
        user = self.authenticate(req, self.RUNNER_READ)
        self.find_runner(user, rid)
        p = Params(req)
        p.values_of("status", JOB_STATUSES)
        p.values_of("sort", ("asc", "desc"))
        p.values_of("order_by", ("id",))
        p.check()
        chunk, headers = self.paginate(req, [], with_count="system_id" not in p)
        return Response(200, chunk, headers)

    def reset_by_id(self, req, rid):
        user = self.authenticate(req, self.RUNNER_WRITE)
        runner = self.find_runner(user, rid)
        if not self.can_admin_runner(user, runner):
            raise forbidden("No access granted")
        return self.rotate_token(runner)

    def rotate_token(self, runner):
        self.runner_tokens.pop(runner["token"], None)
        runner["token"] = self.new_token()
        self.runner_tokens[runner["token"]] = runner["id"]
        return json_response(201, {"token": runner["token"], "token_expires_at": runner["token_expires_at"]})

    # -- runner-token endpoints (what gitlab-runner itself calls) -----------------------------

    def verify(self, req):
        """POST /runners/verify: heartbeats the runner and upserts the manager for system_id."""
        p = Params(req)
        runner = self.runner_by_token(p)
        system_id = p.str("system_id")
        info = p.raw("info") if isinstance(p.raw("info"), dict) else {}
        now = time.time()
        if system_id:
            m = runner["managers"].get(system_id)
            if m is None:
                self.next_manager_id += 1
                m = runner["managers"][system_id] = {
                    "id": self.next_manager_id, "system_id": system_id, "created_at": now, "version": None,
                    "revision": None, "platform": None, "architecture": None}
            m["contacted_at"] = now
            m["ip_address"] = req.client_ip
            for k in ("version", "revision", "platform", "architecture"):
                if info.get(k):
                    m[k] = info[k]
            if info.get("name"):
                runner["name"] = info["name"]
        runner["contacted_at"] = now
        return json_response(200, {"id": runner["id"], "token": runner["token"],
                                   "token_expires_at": runner["token_expires_at"]})

    def delete_by_token(self, req):
        runner = self.runner_by_token(Params(req))
        self.drop_runner(runner)
        return Response(204)

    def delete_manager(self, req):
        p = Params(req)
        runner = self.runner_by_token(p)
        system_id = p.str("system_id")
        if not system_id:
            raise GLError(400, {"error": "system_id is missing"})
        if runner["managers"].pop(system_id, None) is None:
            raise not_found()
        return Response(204)

    def reset_by_token(self, req):
        return self.rotate_token(self.runner_by_token(Params(req)))

    def legacy_register(self, req):
        """POST /runners with a registration token: disabled since GitLab 17.0."""
        token = Params(req).str("token")
        if token is None:
            raise GLError(400, {"error": "token is missing"})
        if token.startswith("GR1348941"):
            raise GLError(410, {"message": "410 Gone - runner registration disallowed"})
        raise forbidden()

    # -- projects, groups, jobs -----------------------------------------------------------

    def get_project(self, req, ident):
        user = self.authenticate(req, self.READ)
        return json_response(200, self.project_json(self.find_project(user, ident), req.base_url))

    def get_group(self, req, ident):
        user = self.authenticate(req, self.READ)
        return json_response(200, self.group_json(self.find_group(user, ident), req.base_url))

    def list_project_jobs(self, req, ident):
        """GET /projects/:id/jobs?scope[]=pending: no jobs yet; paginated without counts."""
        user = self.authenticate(req, self.READ)
        self.find_project(user, ident)
        scopes = req.query.get("scope[]", []) + req.query.get("scope", [])
        if any(s not in JOB_STATUSES for s in scopes):
            raise GLError(400, {"message": "Scope contains invalid value(s)"})
        chunk, headers = self.paginate(req, [], with_count=False)
        return Response(200, chunk, headers)

    def get_project_job(self, req, ident, job_id):
        user = self.authenticate(req, self.READ)
        self.find_project(user, ident)
        raise not_found()


def main(argv):
    sim_dir, tls = main_args(argv, "gitlab")
    service = GitLabService(load_identity(sim_dir))
    run("gitlab", sim_dir, {"gitlab": SimServer(service, tls)})


if __name__ == "__main__":
    main(sys.argv[1:])
