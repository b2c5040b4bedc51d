/* libyaml events to a small tree per document, with the input bounds: nesting
 * depth, alias count, anchor count. Aliases become references to the anchored
 * node (registered when that node is complete, so no cycle can form); nothing
 * is ever expanded. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "spec/spec_int.h"

#define ARENA_CHUNK 16384

struct spec_arena_chunk {
	spec_arena_chunk *next;
	size_t used, cap;
	max_align_t data[];
};

void *spec_arena_alloc(spec_arena *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	spec_arena_chunk *c = a->head;
	void *p;

	n = (n + align - 1) / align * align;
	if (!c || c->cap - c->used < n) {
		size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;

		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = a->head;
		a->head = c;
	}
	p = (char *)c->data + c->used;
	c->used += n;
	return p;
}

void spec_arena_reset(spec_arena *a)
{
	spec_arena_chunk *keep = NULL;

	while (a->head) {
		spec_arena_chunk *next = a->head->next;

		if (!keep && a->head->cap == ARENA_CHUNK) {
			keep = a->head;
			keep->next = NULL;
			keep->used = 0;
		} else {
			free(a->head);
		}
		a->head = next;
	}
	a->head = keep;
}

void spec_arena_free(spec_arena *a)
{
	while (a->head) {
		spec_arena_chunk *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

typedef struct anchor {
	struct anchor *next;
	const char *name;
	const spec_node *node;
} anchor;

typedef struct builder {
	spec_report *rep;
	const char *buf;
	size_t len;
	spec_arena arena;
	spec_node *root;
	spec_node *stack[SPEC_MAX_DEPTH];
	const char *stack_anchor[SPEC_MAX_DEPTH];
	int depth;
	anchor *anchors;  /* this document's, newest first */
	size_t n_anchors; /* in the stream */
	size_t n_aliases; /* in the stream */
	size_t expansion; /* nodes aliases add to this document if expanded */
} builder;

static spec_pos mark_pos(yaml_mark_t m)
{
	spec_pos p = {(int)m.line + 1, (int)m.column + 1};

	return p;
}

/* libyaml gives reader errors (bad UTF-8, control characters) as a byte
 * offset only. */
static spec_pos offset_pos(const char *buf, size_t len, size_t offset)
{
	spec_pos p = {1, 1};

	for (size_t i = 0; i < offset && i < len; i++) {
		if (buf[i] == '\n') {
			p.line++;
			p.col = 1;
		} else if (((unsigned char)buf[i] & 0xc0) != 0x80) {
			p.col++;
		}
	}
	return p;
}

static void report_yaml_error(builder *b, const yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown problem";

	switch (p->error) {
	case YAML_MEMORY_ERROR:
		b->rep->oom = true;
		return;
	case YAML_READER_ERROR:
		if (p->problem_value >= 0)
			spec_report_add(
			        b->rep, offset_pos(b->buf, b->len, p->problem_offset), "",
			        "invalid input: %s (0x%02x at offset %zu); the file must be UTF-8 text",
			        problem, (unsigned)p->problem_value, p->problem_offset);
		else
			spec_report_add(b->rep, offset_pos(b->buf, b->len, p->problem_offset), "",
			                "invalid input: %s (at offset %zu); the file must be UTF-8 text",
			                problem, p->problem_offset);
		return;
	default:
		if (p->context)
			spec_report_add(b->rep, mark_pos(p->problem_mark), "",
			                "invalid YAML: %s (%s at line %zu, column %zu)", problem, p->context,
			                p->context_mark.line + 1, p->context_mark.column + 1);
		else
			spec_report_add(b->rep, mark_pos(p->problem_mark), "", "invalid YAML: %s", problem);
		return;
	}
}

static spec_node *node_new(builder *b, spec_node_kind kind, yaml_mark_t m)
{
	spec_node *n = spec_arena_alloc(&b->arena, sizeof(*n));

	if (!n) {
		b->rep->oom = true;
		return NULL;
	}
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->weight = 1;
	n->pos = mark_pos(m);
	return n;
}

static size_t add_sat(size_t a, size_t b)
{
	return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* Links a node under the open collection. A scalar or alias is complete
 * here; a collection adds its weight to its parent when it ends. */
static void attach(builder *b, spec_node *n)
{
	spec_node *parent;

	if (b->depth == 0) {
		b->root = n;
		return;
	}
	parent = b->stack[b->depth - 1];
	if (n->kind != SPEC_NODE_MAP && n->kind != SPEC_NODE_SEQ)
		parent->weight = add_sat(parent->weight, n->weight);
	if (parent->last)
		parent->last->next = n;
	else
		parent->first = n;
	parent->last = n;
	parent->n++;
}

static const char *arena_strdup(builder *b, const char *s, size_t len)
{
	char *d = spec_arena_alloc(&b->arena, len + 1);

	if (!d) {
		b->rep->oom = true;
		return NULL;
	}
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

static int anchor_add(builder *b, const char *name, const spec_node *n, yaml_mark_t m)
{
	anchor *a;

	if (++b->n_anchors > SPEC_MAX_ALIASES) {
		spec_report_add(b->rep, mark_pos(m), "",
		                "more than %d anchors in one file; refusing to read on", SPEC_MAX_ALIASES);
		return -1;
	}
	a = spec_arena_alloc(&b->arena, sizeof(*a));
	if (!a || !(a->name = arena_strdup(b, name, strlen(name)))) {
		b->rep->oom = true;
		return -1;
	}
	a->node = n;
	a->next = b->anchors;
	b->anchors = a;
	return 0;
}

/* Only the core schema's tags: anything else would need a meaning we do not
 * have. `plain` says whether the scalar's type comes from its text. */
static int tag_check(builder *b, const char *tag, yaml_mark_t m, bool *plain)
{
	static const char *const typed[] = {"tag:yaml.org,2002:int", "tag:yaml.org,2002:bool",
	                                    "tag:yaml.org,2002:null", "tag:yaml.org,2002:float", NULL};

	if (!tag)
		return 0;
	if (strcmp(tag, "!") == 0 || strcmp(tag, "tag:yaml.org,2002:str") == 0) {
		*plain = false;
		return 0;
	}
	if (strcmp(tag, "tag:yaml.org,2002:map") == 0 || strcmp(tag, "tag:yaml.org,2002:seq") == 0)
		return 0;
	for (size_t i = 0; typed[i]; i++) {
		if (strcmp(tag, typed[i]) == 0) {
			*plain = true;
			return 0;
		}
	}
	char shown[80];

	spec_echo(shown, sizeof(shown), tag, strlen(tag));
	spec_report_add(b->rep, mark_pos(m), "",
	                "unsupported YAML tag %s; only the core tags (!!str, !!int, ...) are understood",
	                shown);
	return -1;
}

static int on_collection_start(builder *b, const yaml_event_t *ev, spec_node_kind kind)
{
	const char *tag = (const char *)(kind == SPEC_NODE_MAP ? ev->data.mapping_start.tag
	                                                       : ev->data.sequence_start.tag);
	const char *anchor_name = (const char *)(kind == SPEC_NODE_MAP ? ev->data.mapping_start.anchor
	                                                               : ev->data.sequence_start.anchor);
	bool plain = false;
	spec_node *n;

	if (b->depth == SPEC_MAX_DEPTH) {
		spec_report_add(b->rep, mark_pos(ev->start_mark), "",
		                "nesting deeper than %d levels; refusing to read on", SPEC_MAX_DEPTH);
		return -1;
	}
	if (tag_check(b, tag, ev->start_mark, &plain) < 0)
		return -1;
	if (!(n = node_new(b, kind, ev->start_mark)))
		return -1;
	attach(b, n);
	b->stack_anchor[b->depth] = NULL;
	if (anchor_name && !(b->stack_anchor[b->depth] = arena_strdup(b, anchor_name, strlen(anchor_name))))
		return -1;
	b->stack[b->depth++] = n;
	return 0;
}

static int on_collection_end(builder *b, const yaml_event_t *ev)
{
	b->depth--;
	if (b->depth > 0)
		b->stack[b->depth - 1]->weight =
		        add_sat(b->stack[b->depth - 1]->weight, b->stack[b->depth]->weight);
	if (b->stack_anchor[b->depth])
		return anchor_add(b, b->stack_anchor[b->depth], b->stack[b->depth], ev->start_mark);
	return 0;
}

static int on_scalar(builder *b, const yaml_event_t *ev)
{
	bool plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	spec_node *n;

	if (tag_check(b, (const char *)ev->data.scalar.tag, ev->start_mark, &plain) < 0)
		return -1;
	if (!(n = node_new(b, SPEC_NODE_SCALAR, ev->start_mark)))
		return -1;
	n->plain = plain;
	n->len = ev->data.scalar.length;
	if (!(n->str = arena_strdup(b, (const char *)ev->data.scalar.value, n->len)))
		return -1;
	attach(b, n);
	if (ev->data.scalar.anchor)
		return anchor_add(b, (const char *)ev->data.scalar.anchor, n, ev->start_mark);
	return 0;
}

static int on_alias(builder *b, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	const anchor *a = b->anchors;
	spec_node *n;

	if (++b->n_aliases > SPEC_MAX_ALIASES) {
		spec_report_add(b->rep, mark_pos(ev->start_mark), "",
		                "more than %d aliases in one file; refusing to read on", SPEC_MAX_ALIASES);
		return -1;
	}
	while (a && strcmp(a->name, name) != 0)
		a = a->next;
	if (!a) {
		char shown[80];

		spec_echo(shown, sizeof(shown), name, strlen(name));
		spec_report_add(b->rep, mark_pos(ev->start_mark), "",
		                "alias *%s names no anchor defined before it in this document", shown);
		return -1;
	}
	b->expansion = add_sat(b->expansion, a->node->weight);
	if (b->expansion > SPEC_MAX_ALIAS_EXPANSION) {
		spec_report_add(
		        b->rep, mark_pos(ev->start_mark), "",
		        "aliases would expand this document by more than %d nodes; refusing to read on",
		        SPEC_MAX_ALIAS_EXPANSION);
		return -1;
	}
	if (!(n = node_new(b, SPEC_NODE_ALIAS, ev->start_mark)))
		return -1;
	n->target = a->node;
	n->weight = a->node->weight;
	attach(b, n);
	return 0;
}

int spec_yaml_parse(spec_report *r, const char *buf, size_t len, spec_doc_fn fn, void *arg)
{
	yaml_parser_t parser;
	yaml_event_t ev;
	builder b;
	spec_pos doc_pos = {1, 1};
	int doc_index = 0, rc = 0;
	bool done = false;

	memset(&b, 0, sizeof(b));
	b.rep = r;
	b.buf = buf;
	b.len = len;
	if (!yaml_parser_initialize(&parser)) {
		r->oom = true;
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);

	while (!done) {
		int step = 0;

		if (!yaml_parser_parse(&parser, &ev)) {
			report_yaml_error(&b, &parser);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			spec_arena_reset(&b.arena);
			b.root = NULL;
			b.anchors = NULL;
			b.expansion = 0;
			doc_pos = mark_pos(ev.start_mark);
			break;
		case YAML_DOCUMENT_END_EVENT:
			step = fn(arg, b.root, doc_pos, doc_index++);
			if (r->full)
				step = -1;
			break;
		case YAML_MAPPING_START_EVENT:
			step = on_collection_start(&b, &ev, SPEC_NODE_MAP);
			break;
		case YAML_SEQUENCE_START_EVENT:
			step = on_collection_start(&b, &ev, SPEC_NODE_SEQ);
			break;
		case YAML_MAPPING_END_EVENT:
		case YAML_SEQUENCE_END_EVENT:
			step = on_collection_end(&b, &ev);
			break;
		case YAML_SCALAR_EVENT:
			step = on_scalar(&b, &ev);
			break;
		case YAML_ALIAS_EVENT:
			step = on_alias(&b, &ev);
			break;
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (step < 0)
			break;
	}
	if (r->oom)
		rc = -1;
	yaml_parser_delete(&parser);
	spec_arena_free(&b.arena);
	return rc;
}
