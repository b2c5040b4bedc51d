/* Value formats (fields.h), Go durations, scalar typing and the helpers that
 * keep values out of messages when they must not be repeated. */
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "spec/spec_int.h"

static const spec_format_info formats[SPEC_FORMAT_COUNT] = {
        [SPEC_FORMAT_NONE] = {"string", "a string", NULL, 0},
        [SPEC_FORMAT_DNS_LABEL] = {"dns-label",
                                   "a DNS-1123 label (lowercase letters, digits and '-', starting and ending "
                                   "with a letter or digit, at most 63 characters)",
                                   "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", 63},
        [SPEC_FORMAT_DNS_SUBDOMAIN] =
                {"dns-subdomain",
                 "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.', at most 253 "
                 "characters)",
                 "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", 253},
        [SPEC_FORMAT_APP_NAME] =
                {"app-name",
                 "an app name (lowercase letters, digits and '-', starting with a letter, not "
                 "ending with '-', at most 24 characters)",
                 "^[a-z]([-a-z0-9]*[a-z0-9])?$", 24},
        [SPEC_FORMAT_REGION] = {"azure-region",
                                "an Azure region name such as westeurope (lowercase letters and digits)",
                                "^[a-z][a-z0-9]*$", 64},
        [SPEC_FORMAT_GITLAB_URL] = {"gitlab-url", "an https URL such as https://gitlab.com",
                                    "^[Hh][Tt][Tt][Pp][Ss]?://[^/@?#]+(/[^?#]*)?$", 2048},
        [SPEC_FORMAT_GUID] = {"guid", "a GUID such as 00000000-0000-0000-0000-000000000000",
                              "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$",
                              36},
        [SPEC_FORMAT_RESOURCE_GROUP] =
                {"resource-group",
                 "a resource group name (letters, digits, '-', '_', '.', '(' and ')', not "
                 "ending with '.', at most 90 characters)",
                 "^[-A-Za-z0-9_.()]*[-A-Za-z0-9_()]$", 90},
        [SPEC_FORMAT_CIDR] = {"cidr", "an IPv4 CIDR such as 10.0.0.0/16",
                              "^[0-9]{1,3}(\\.[0-9]{1,3}){3}/[0-9]{1,2}$", 18},
        [SPEC_FORMAT_ADDRESS_PREFIX] = {"address-prefix", "an IPv4 address or CIDR such as 203.0.113.0/24",
                                        "^[0-9]{1,3}(\\.[0-9]{1,3}){3}(/[0-9]{1,2})?$", 18},
        [SPEC_FORMAT_VNET_ID] = {"vnet-id",
                                 "a virtual network id /subscriptions/{id}/resourceGroups/{group}/providers/"
                                 "Microsoft.Network/virtualNetworks/{name}",
                                 "^(/[^/]+){8}$", 1024},
        [SPEC_FORMAT_SUBNET_ID] = {"subnet-id",
                                   "a subnet id /subscriptions/{id}/resourceGroups/{group}/providers/"
                                   "Microsoft.Network/virtualNetworks/{vnet}/subnets/{name}",
                                   "^(/[^/]+){10}$", 1024},
        [SPEC_FORMAT_VM_SIZE] = {"vm-size", "an Azure VM size such as Standard_D2s_v5",
                                 "^[A-Za-z][-A-Za-z0-9_]*$", 64},
        [SPEC_FORMAT_DURATION] =
                {"duration", "a duration such as 20m, 1h30m or 90s (units h, m, s, ms)",
                 "^(0|([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(h|m|s|ms)(([0-9]+(\\.[0-9]*)?|\\.[0-9]+)(h|m|s|ms))*)$",
                 64},
        [SPEC_FORMAT_RUNNER_TAG] = {"runner-tag", "a runner tag (not empty, no ',', no surrounding spaces)",
                                    "^[^, ]([^,]*[^, ])?$", 255},
        [SPEC_FORMAT_ENV_NAME] = {"env-name", "an environment variable name such as GITLAB_RUNNER_TOKEN",
                                  "^[A-Za-z_][A-Za-z0-9_]*$", 255},
        [SPEC_FORMAT_FILE_PATH] = {"file-path", "an absolute file path", "^/", 4096},
        [SPEC_FORMAT_SECRET_KEY] = {"secret-key", "a Secret key (letters, digits, '-', '_' and '.')",
                                    "^[-._a-zA-Z0-9]+$", 253},
};

const spec_format_info *spec_format_info_get(spec_field_format format)
{
	if ((unsigned)format >= SPEC_FORMAT_COUNT)
		return &formats[SPEC_FORMAT_NONE];
	return &formats[format];
}

char *spec_strndup(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (!d)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

void spec_bprintf(char *dst, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!dst || !cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(dst, cap, fmt, ap);
	va_end(ap);
	if (n < 0)
		dst[0] = '\0';
	else if ((size_t)n >= cap && cap > 4)
		memcpy(dst + cap - 4, "...", 4);
}

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return isalnum((unsigned char)c) != 0;
}

static int check_dns_label(const char *s, size_t len)
{
	if (len == 0 || len > 63 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[len - 1]))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return -1;
	return 0;
}

static int check_dns_subdomain(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 253)
		return -1;
	for (const char *p = s;;) {
		const char *dot = strchr(p, '.');
		size_t n = dot ? (size_t)(dot - p) : strlen(p);

		if (check_dns_label(p, n) < 0)
			return -1;
		if (!dot)
			return 0;
		p = dot + 1;
	}
}

static int check_app_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 24 || !(s[0] >= 'a' && s[0] <= 'z') || s[len - 1] == '-')
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]) && s[i] != '-')
			return -1;
	return 0;
}

static int check_region(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64 || !(s[0] >= 'a' && s[0] <= 'z'))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_lower_alnum(s[i]))
			return -1;
	return 0;
}

static int check_guid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";

	if (strlen(s) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; shape[i]; i++) {
		if (shape[i] == '-' ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return -1;
	}
	return 0;
}

static int check_resource_group(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 90 || s[len - 1] == '.')
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && !strchr("-_.()", s[i]))
			return -1;
	return 0;
}

/* One octet or prefix: decimal, no sign, no leading zero. */
static const char *parse_small(const char *p, unsigned max, unsigned *out)
{
	unsigned v = 0;
	const char *start = p;

	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > max || p - start >= 3)
			return NULL;
		p++;
	}
	if (p == start || (p - start > 1 && *start == '0'))
		return NULL;
	*out = v;
	return p;
}

static const char *parse_ipv4(const char *p, uint32_t *addr)
{
	uint32_t a = 0;

	for (int i = 0; i < 4; i++) {
		unsigned octet;

		if (i > 0) {
			if (*p != '.')
				return NULL;
			p++;
		}
		if (!(p = parse_small(p, 255, &octet)))
			return NULL;
		a = (a << 8) | octet;
	}
	*addr = a;
	return p;
}

int spec_cidr_parse(const char *s, uint32_t *addr, int *prefix)
{
	unsigned n;
	const char *p = parse_ipv4(s, addr);

	if (!p || *p != '/')
		return -1;
	p = parse_small(p + 1, 32, &n);
	if (!p || *p)
		return -1;
	*prefix = (int)n;
	return 0;
}

static uint32_t prefix_mask(int prefix)
{
	return prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
}

static int check_cidr(const char *s, char *hint, size_t cap)
{
	uint32_t a;
	int prefix;

	if (spec_cidr_parse(s, &a, &prefix) < 0)
		return -1;
	if (a & ~prefix_mask(prefix)) {
		uint32_t net = a & prefix_mask(prefix);

		spec_bprintf(hint, cap, "host bits are set; the network is %u.%u.%u.%u/%d", net >> 24,
		             (net >> 16) & 255, (net >> 8) & 255, net & 255, prefix);
		return -1;
	}
	return 0;
}

static int check_address_prefix(const char *s, char *hint, size_t cap)
{
	uint32_t a;
	const char *p;

	if (strchr(s, '/'))
		return check_cidr(s, hint, cap);
	p = parse_ipv4(s, &a);
	return p && !*p ? 0 : -1;
}

static bool is_loopback_host(const char *h, size_t n)
{
	uint32_t a;
	char buf[64];
	const char *end;

	if (n == 9 && strncasecmp(h, "localhost", 9) == 0)
		return true;
	if (n == 5 && memcmp(h, "[::1]", 5) == 0)
		return true;
	if (n >= sizeof(buf))
		return false;
	memcpy(buf, h, n);
	buf[n] = '\0';
	end = parse_ipv4(buf, &a);
	return end && !*end && (a >> 24) == 127;
}

/* The port part after ':' in an authority: 1..65535, digits only. */
static int check_port(const char *p, size_t n)
{
	unsigned long v = 0;

	if (n == 0 || n > 5)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	return v >= 1 && v <= 65535 ? 0 : -1;
}

static int check_gitlab_url(const char *s, char *hint, size_t cap)
{
	bool https;
	const char *host, *end, *port;
	size_t host_len;

	if (strncasecmp(s, "https://", 8) == 0) {
		https = true;
		host = s + 8;
	} else if (strncasecmp(s, "http://", 7) == 0) {
		https = false;
		host = s + 7;
	} else {
		spec_bprintf(hint, cap, "the scheme must be https://");
		return -1;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			spec_bprintf(hint, cap, "URLs contain no spaces or control characters");
			return -1;
		}
		if (*p == '?' || *p == '#') {
			spec_bprintf(hint, cap, "give the base URL, without query or fragment");
			return -1;
		}
	}
	end = host + strcspn(host, "/");
	if (memchr(host, '@', (size_t)(end - host))) {
		spec_bprintf(hint, cap, "credentials must not be written into the URL");
		return -1;
	}
	if (*host == '[') {
		const char *close = memchr(host, ']', (size_t)(end - host));

		if (!close) {
			spec_bprintf(hint, cap, "unterminated IPv6 address");
			return -1;
		}
		port = close + 1 < end && close[1] == ':' ? close + 1 : NULL;
		if (!port && close + 1 != end)
			return -1;
	} else {
		port = memchr(host, ':', (size_t)(end - host));
	}
	host_len = (size_t)((port ? port : end) - host);
	if (host_len == 0) {
		spec_bprintf(hint, cap, "the host is missing");
		return -1;
	}
	if (port && check_port(port + 1, (size_t)(end - port - 1)) < 0) {
		spec_bprintf(hint, cap, "the port must be a number from 1 to 65535");
		return -1;
	}
	if (!https && !is_loopback_host(host, host_len)) {
		spec_bprintf(hint, cap,
		             "plain http is allowed only to a loopback host (127.0.0.1, localhost, [::1]); "
		             "use https");
		return -1;
	}
	return 0;
}

static bool seg_is(const char *seg, size_t n, const char *word)
{
	return strlen(word) == n && strncasecmp(seg, word, n) == 0;
}

/* Splits an ARM id into its '/'-separated segments. Returns the count, or -1
 * when a segment is empty or there are more than `max`. */
static int arm_id_split(const char *s, const char **seg, size_t *len, int max)
{
	int n = 0;

	if (*s != '/')
		return -1;
	while (*s == '/') {
		const char *start = ++s;

		s += strcspn(s, "/");
		if (s == start || n == max)
			return -1;
		seg[n] = start;
		len[n] = (size_t)(s - start);
		n++;
	}
	return *s ? -1 : n;
}

static int check_arm_network_id(const char *s, bool subnet, char *hint, size_t cap)
{
	static const char *const words[] = {
	        "subscriptions",   NULL, "resourceGroups", NULL, "providers", "Microsoft.Network",
	        "virtualNetworks", NULL, "subnets",        NULL};
	const char *seg[10];
	size_t len[10];
	int want = subnet ? 10 : 8;
	char sub[40];

	if (arm_id_split(s, seg, len, want) != want)
		return -1;
	for (int i = 0; i < want; i++) {
		if (words[i] && !seg_is(seg[i], len[i], words[i])) {
			spec_bprintf(hint, cap, "expected segment %d to be %s", i + 1, words[i]);
			return -1;
		}
	}
	if (len[1] >= sizeof(sub))
		return -1;
	memcpy(sub, seg[1], len[1]);
	sub[len[1]] = '\0';
	if (check_guid(sub) < 0) {
		spec_bprintf(hint, cap, "the subscription is not a GUID");
		return -1;
	}
	return 0;
}

static int check_vm_size(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 64 || !isalpha((unsigned char)s[0]))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '-')
			return -1;
	return 0;
}

static int check_runner_tag(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255 || strchr(s, ',') || isspace((unsigned char)s[0]) ||
	    isspace((unsigned char)s[len - 1]))
		return -1;
	return 0;
}

static int check_env_name(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 255 || isdigit((unsigned char)s[0]))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && s[i] != '_')
			return -1;
	return 0;
}

static int check_secret_key(const char *s)
{
	size_t len = strlen(s);

	if (len == 0 || len > 253)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (!is_alnum(s[i]) && !strchr("-._", s[i]))
			return -1;
	return 0;
}

int spec_format_check(spec_field_format format, const char *s, char *hint, size_t hint_cap)
{
	long secs;

	if (hint && hint_cap)
		hint[0] = '\0';
	if (!s)
		return -1;
	switch (format) {
	case SPEC_FORMAT_NONE:
		return 0;
	case SPEC_FORMAT_DNS_LABEL:
		return check_dns_label(s, strlen(s));
	case SPEC_FORMAT_DNS_SUBDOMAIN:
		return check_dns_subdomain(s);
	case SPEC_FORMAT_APP_NAME:
		return check_app_name(s);
	case SPEC_FORMAT_REGION:
		return check_region(s);
	case SPEC_FORMAT_GITLAB_URL:
		return check_gitlab_url(s, hint, hint_cap);
	case SPEC_FORMAT_GUID:
		return check_guid(s);
	case SPEC_FORMAT_RESOURCE_GROUP:
		return check_resource_group(s);
	case SPEC_FORMAT_CIDR:
		return check_cidr(s, hint, hint_cap);
	case SPEC_FORMAT_ADDRESS_PREFIX:
		return check_address_prefix(s, hint, hint_cap);
	case SPEC_FORMAT_VNET_ID:
		return check_arm_network_id(s, false, hint, hint_cap);
	case SPEC_FORMAT_SUBNET_ID:
		return check_arm_network_id(s, true, hint, hint_cap);
	case SPEC_FORMAT_VM_SIZE:
		return check_vm_size(s);
	case SPEC_FORMAT_DURATION:
		return spec_parse_duration(s, &secs);
	case SPEC_FORMAT_RUNNER_TAG:
		return check_runner_tag(s);
	case SPEC_FORMAT_ENV_NAME:
		return check_env_name(s);
	case SPEC_FORMAT_FILE_PATH:
		return s[0] == '/' ? 0 : -1;
	case SPEC_FORMAT_SECRET_KEY:
		return check_secret_key(s);
	case SPEC_FORMAT_COUNT:
		break;
	}
	return -1;
}

/* Go's time.ParseDuration grammar, restricted to non-negative values and the
 * units h, m, s and ms; fractions ("1.5h") are allowed, kept to the
 * millisecond. */
int spec_parse_duration(const char *s, long *seconds)
{
	static const struct {
		const char *name;
		long long ms;
	} units[] = {{"ms", 1}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
	const long long limit =
	        (long long)LONG_MAX < LLONG_MAX / 1000 ? (long long)LONG_MAX * 1000 : LLONG_MAX;
	long long total = 0;

	if (!s || !*s)
		return -1;
	if (strcmp(s, "0") == 0) {
		if (seconds)
			*seconds = 0;
		return 0;
	}
	while (*s) {
		long long whole = 0, frac = 0, scale = 1, unit_ms = 0, part;
		bool digits = false;
		size_t ulen;

		while (*s >= '0' && *s <= '9') {
			if (whole > (LLONG_MAX - 9) / 10)
				return -1;
			whole = whole * 10 + (*s++ - '0');
			digits = true;
		}
		if (*s == '.') {
			s++;
			while (*s >= '0' && *s <= '9') {
				if (scale < 1000000000LL) { /* further digits cannot matter */
					frac = frac * 10 + (*s - '0');
					scale *= 10;
				}
				s++;
				digits = true;
			}
		}
		if (!digits)
			return -1;
		ulen = strcspn(s, "0123456789.");
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			if (strlen(units[i].name) == ulen && strncmp(s, units[i].name, ulen) == 0)
				unit_ms = units[i].ms;
		}
		if (!unit_ms)
			return -1;
		s += ulen;
		if (whole > limit / unit_ms)
			return -1;
		part = whole * unit_ms + frac * unit_ms / scale;
		if (part > limit - total)
			return -1;
		total += part;
	}
	if (seconds)
		*seconds = (long)(total / 1000);
	return 0;
}

/* Prefixes of GitLab tokens (personal, runner, deploy, trigger, feed, OAuth,
 * CI job, incoming mail, agent, SCIM...) and the legacy registration token. */
static const char *const token_prefixes[] = {"glpat-",  "glrt-",   "glrtr-",    "gldt-",  "glptt-",
                                             "glft-",   "gloas-",  "glcbt-",    "glimt-", "glagent-",
                                             "glsoat-", "glffct-", "GR1348941", NULL};

bool spec_value_is_sensitive(const char *s, size_t len)
{
	const char *scheme;

	for (size_t i = 0; token_prefixes[i]; i++) {
		size_t n = strlen(token_prefixes[i]);

		for (size_t at = 0; at + n <= len; at++)
			if (memcmp(s + at, token_prefixes[i], n) == 0)
				return true;
	}
	/* user:password@host in a URL */
	scheme = len >= 3 ? memchr(s, ':', len) : NULL;
	if (scheme && (size_t)(scheme - s) + 3 <= len && scheme[1] == '/' && scheme[2] == '/') {
		const char *host = scheme + 3;
		size_t rest = len - (size_t)(host - s);
		size_t auth = 0;

		while (auth < rest && host[auth] != '/')
			auth++;
		if (memchr(host, '@', auth))
			return true;
	}
	return false;
}

void spec_echo(char *dst, size_t cap, const char *s, size_t len)
{
	const size_t max_chars = 48;
	size_t o = 0, shown = 0;

	if (!cap)
		return;
	if (spec_value_is_sensitive(s, len)) {
		spec_bprintf(dst, cap, "(a value that looks like a credential, not shown)");
		return;
	}
#define PUT(c)                                                                                               \
	do {                                                                                                 \
		if (o + 1 < cap)                                                                             \
			dst[o++] = (c);                                                                      \
	} while (0)
	PUT('"');
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (shown == max_chars) {
			PUT('.');
			PUT('.');
			PUT('.');
			break;
		}
		if ((c & 0xc0) != 0x80)
			shown++; /* count characters, not UTF-8 continuation bytes */
		if (c < 0x20 || c == 0x7f || c == '"' || c == '\\') {
			char esc[8];
			int n = c == '"' || c == '\\' ? snprintf(esc, sizeof(esc), "\\%c", c)
			                              : snprintf(esc, sizeof(esc), "\\x%02x", c);

			if (n < 0 || o + (size_t)n + 1 >= cap)
				break;
			memcpy(dst + o, esc, (size_t)n);
			o += (size_t)n;
			continue;
		}
		PUT((char)c);
	}
	PUT('"');
#undef PUT
	dst[o] = '\0';
}

static bool text_is(const char *s, size_t len, const char *const *words)
{
	for (size_t i = 0; words[i]; i++)
		if (strlen(words[i]) == len && memcmp(s, words[i], len) == 0)
			return true;
	return false;
}

static bool all_digits(const char *s, size_t len, bool hex)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++)
		if (hex ? !isxdigit((unsigned char)s[i]) : !isdigit((unsigned char)s[i]))
			return false;
	return true;
}

static bool is_float(const char *s, size_t len)
{
	static const char *const special[] = {".inf",  ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
	                                      "-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};
	size_t i = 0, mant = 0;

	if (text_is(s, len, special))
		return true;
	if (i < len && (s[i] == '-' || s[i] == '+'))
		i++;
	while (i < len && isdigit((unsigned char)s[i]))
		i++, mant++;
	if (i < len && s[i] == '.') {
		i++;
		while (i < len && isdigit((unsigned char)s[i]))
			i++, mant++;
	}
	if (!mant)
		return false;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < len && (s[i] == '-' || s[i] == '+'))
			i++;
		if (i == len || !isdigit((unsigned char)s[i]))
			return false;
		while (i < len && isdigit((unsigned char)s[i]))
			i++;
	}
	return i == len;
}

spec_scalar_kind spec_scalar_classify(const spec_node *n)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
	static const char *const bools[] = {"true", "false", NULL};
	static const char *const boolish[] = {"True", "TRUE", "False", "FALSE", "yes", "Yes", "YES",
	                                      "no",   "No",   "NO",    "on",    "On",  "ON",  "off",
	                                      "Off",  "OFF",  "y",     "Y",     "n",   "N",   NULL};
	const char *s = n->str;
	size_t len = n->len, i = 0;

	if (n->kind != SPEC_NODE_SCALAR || !n->plain)
		return SPEC_SCALAR_STRING;
	if (text_is(s, len, nulls))
		return SPEC_SCALAR_NULL;
	if (text_is(s, len, bools))
		return SPEC_SCALAR_BOOL;
	if (text_is(s, len, boolish))
		return SPEC_SCALAR_BOOLISH;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'o'))
		return all_digits(s + 2, len - 2, s[1] == 'x') ? SPEC_SCALAR_INT_OTHER : SPEC_SCALAR_STRING;
	if (len && (s[0] == '-' || s[0] == '+'))
		i = 1;
	if (all_digits(s + i, len - i, false))
		return len - i > 1 && s[i] == '0' ? SPEC_SCALAR_INT_OTHER : SPEC_SCALAR_INT;
	if (is_float(s, len))
		return SPEC_SCALAR_FLOAT;
	return SPEC_SCALAR_STRING;
}
