/* log — one line per event: a JSON object by default, human text on a
 * terminal. The only writer of stderr in the controller. */
#ifndef RF_LOG_H
#define RF_LOG_H

typedef enum { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR } log_level;
typedef enum { LOG_FORMAT_AUTO = 0, LOG_FORMAT_JSON, LOG_FORMAT_TEXT } log_format;

void log_init(log_level min, log_format format);
int log_parse_level(const char *s, log_level *out);
int log_parse_format(const char *s, log_format *out);

/* `fleet` may be NULL. The message must never contain a secret. */
void log_msg(log_level level, const char *fleet, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define log_debug(fleet, ...) log_msg(LOG_DEBUG, fleet, __VA_ARGS__)
#define log_info(fleet, ...) log_msg(LOG_INFO, fleet, __VA_ARGS__)
#define log_warn(fleet, ...) log_msg(LOG_WARN, fleet, __VA_ARGS__)
#define log_error(fleet, ...) log_msg(LOG_ERROR, fleet, __VA_ARGS__)

#endif
