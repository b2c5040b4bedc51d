#include "util/log.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static log_level min_level = LOG_INFO;
static int use_json = -1; /* -1: not decided yet */

static const char *level_names[] = {"debug", "info", "warn", "error"};

void log_init(log_level min, log_format format)
{
	min_level = min;
	if (format == LOG_FORMAT_JSON)
		use_json = 1;
	else if (format == LOG_FORMAT_TEXT)
		use_json = 0;
	else
		use_json = isatty(STDERR_FILENO) ? 0 : 1;
}

int log_parse_level(const char *s, log_level *out)
{
	for (int i = 0; i < 4; i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (log_level)i;
			return 0;
		}
	}
	return -1;
}

int log_parse_format(const char *s, log_format *out)
{
	if (strcmp(s, "json") == 0)
		*out = LOG_FORMAT_JSON;
	else if (strcmp(s, "text") == 0)
		*out = LOG_FORMAT_TEXT;
	else if (strcmp(s, "auto") == 0)
		*out = LOG_FORMAT_AUTO;
	else
		return -1;
	return 0;
}

void log_msg(log_level level, const char *fleet, const char *fmt, ...)
{
	if (level < min_level)
		return;
	if (use_json < 0)
		log_init(min_level, LOG_FORMAT_AUTO);

	char msg[2048];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof msg) /* keep what fits, say so */
		memcpy(msg + sizeof msg - 4, "...", 4);

	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char ts[40];
	size_t len = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + len, sizeof ts - len, ".%03ldZ", (long)(tv.tv_usec / 1000));

	if (use_json) {
		cJSON *o = cJSON_CreateObject();
		if (!o)
			return;
		cJSON_AddStringToObject(o, "ts", ts);
		cJSON_AddStringToObject(o, "level", level_names[level]);
		if (fleet)
			cJSON_AddStringToObject(o, "fleet", fleet);
		cJSON_AddStringToObject(o, "msg", msg);
		char *line = cJSON_PrintUnformatted(o);
		cJSON_Delete(o);
		if (line) {
			fprintf(stderr, "%s\n", line);
			cJSON_free(line);
		}
	} else {
		/* Human form: short time, level only when it matters. */
		const char *tag = level == LOG_ERROR ? "error: " : level == LOG_WARN ? "warning: " : "";
		if (fleet)
			fprintf(stderr, "%.8s  %-14s %s%s\n", ts + 11, fleet, tag, msg);
		else
			fprintf(stderr, "%.8s  %s%s\n", ts + 11, tag, msg);
	}
}
