/*
 * test_quota.c: the resource bounds (quota.c) and what regions and plans
 * cost (memmap.c): an all-ones region of any span is charged one mapping
 * per 2 MiB, a refusal names the bound and the option that sets it, a
 * shrinking change is never refused, and sums cannot overflow past a
 * bound.  Trust: test code; no KVM needed.
 */
#include <errno.h>
#include <string.h>

#include "harness.h"
#include "memmap.h"
#include "quota.h"

#define MB (1ULL << 20)
#define GB (1ULL << 30)

static struct region mk(enum region_kind k, uint64_t gpa, uint64_t size,
			int slot)
{
	struct region r = {.r_kind = k,
			   .r_gpa = gpa,
			   .r_size = size,
			   .r_slot = slot,
			   .r_fd = -1};

	snprintf(r.r_name, sizeof(r.r_name), "r%llx", (unsigned long long)gpa);
	return r;
}

static void test_region_usage(void)
{
	struct quota_use u = {{0}};
	struct region ones = mk(RK_ALLONES, 0, 127 * GB, 0);

	region_usage(&ones, &u);
	CHECK(u.qu[QR_MAPPINGS] == 127 * 512 && u.qu[QR_MEMSLOTS] == 1 &&
		      u.qu[QR_SPAN] == 127 * GB && u.qu[QR_REGIONS] == 1,
	      "127 GiB of all-ones as ROM: %llu mappings",
	      (unsigned long long)u.qu[QR_MAPPINGS]);
	memset(&u, 0, sizeof(u));
	ones = mk(RK_ALLONES, 0, 127 * GB, -1);
	region_usage(&ones, &u);
	CHECK(u.qu[QR_MAPPINGS] == 0 && u.qu[QR_MEMSLOTS] == 0 &&
		      u.qu[QR_SPAN] == 0 && u.qu[QR_REGIONS] == 1,
	      "as MMIO it costs a map entry only");
	memset(&u, 0, sizeof(u));
	ones = mk(RK_ALLONES, 0, 2 * MB + 4096, 0);
	region_usage(&ones, &u);
	CHECK(u.qu[QR_MAPPINGS] == 2, "a partial chunk is a mapping too");
	memset(&u, 0, sizeof(u));
	ones = mk(RK_ROM, 0, 64 * MB, 0);
	region_usage(&ones, &u);
	CHECK(u.qu[QR_MAPPINGS] == 1 && u.qu[QR_FDS] == 1,
	      "a ROM holds its memfd and one mapping");
}

static void test_check(void)
{
	struct quota_limits ql;
	struct quota_use vm = {{0}}, uid = {{0}}, add = {{0}};
	struct verr e = {0};

	quota_defaults(&ql);
	CHECK(ql.ql_vm[QR_MAPPINGS] == 1024 && ql.ql_uid[QR_MAPPINGS] == 8192 &&
		      ql.ql_uid[QR_CONNS] == 64 && ql.ql_vm[QR_CONNS] == 0,
	      "defaults");
	add.qu[QR_MAPPINGS] = 127 * 512;
	CHECK(quota_check(&ql, &vm, &uid, 1000, &add, &e) == -EDQUOT &&
		      strstr(e.msg, "mappings") &&
		      strstr(e.msg, "1024 per VM") &&
		      strstr(e.msg, "--limit mappings=N"),
	      "the per-VM bound is named: %s", e.msg);
	vm.qu[QR_MAPPINGS] = 10;
	uid.qu[QR_MAPPINGS] = 8190;
	add.qu[QR_MAPPINGS] = 3;
	CHECK(quota_check(&ql, &vm, &uid, 1000, &add, &e) == -EDQUOT &&
		      strstr(e.msg, "uid 1000") &&
		      strstr(e.msg, "--uid-limit mappings=N"),
	      "the per-uid bound is named: %s", e.msg);
	add.qu[QR_MAPPINGS] = 2;
	CHECK(quota_check(&ql, &vm, &uid, 1000, &add, &e) == 0,
	      "up to the bound is allowed");
	{
		struct quota_use a = {{0}}, d = {{0}};

		a.qu[QR_MAPPINGS] = d.qu[QR_MAPPINGS] = 5;
		CHECK(!quota_grows(&a, &d) && quota_grows(&d, NULL),
		      "a swap of equals does not grow; anything over nothing "
		      "does");
		a.qu[QR_SPAN] = 1;
		CHECK(quota_grows(&a, &d), "one resource more: it grows");
	}
	memset(&add, 0, sizeof(add));
	uid.qu[QR_REGIONS] = 1u << 20; /* over, e.g. after a limit change */
	CHECK(quota_check(&ql, &vm, &uid, 1000, &add, &e) == 0,
	      "a change that adds nothing passes even over a bound");
	add.qu[QR_SPAN] = UINT64_MAX;
	CHECK(quota_check(&ql, NULL, &uid, 0, &add, &e) == -EDQUOT &&
		      strstr(e.msg, "span_mib"),
	      "no overflow past the bound: %s", e.msg);
	memset(&add, 0, sizeof(add));
	add.qu[QR_RAM] = 65 * GB;
	CHECK(quota_check(&ql, NULL, &uid, 0, &add, &e) == -EDQUOT &&
		      strstr(e.msg, "bound of 65536 per uid"),
	      "MiB resources print in MiB: %s", e.msg);
}

static void test_parse(void)
{
	struct quota_limits ql;
	struct verr e = {0};

	quota_defaults(&ql);
	CHECK(quota_parse(&ql, false, "mappings=16", &e) == 0 &&
		      ql.ql_vm[QR_MAPPINGS] == 16,
	      "--limit mappings=16");
	CHECK(quota_parse(&ql, true, "span_mib=4", &e) == 0 &&
		      ql.ql_uid[QR_SPAN] == 4 * MB,
	      "--uid-limit span_mib=4 is in MiB");
	CHECK(quota_parse(&ql, false, "conns=4", &e) == -EINVAL &&
		      strstr(e.msg, "per uid only"),
	      "conns has no per-VM bound: %s", e.msg);
	CHECK(quota_parse(&ql, false, "mappings=0", &e) == -EINVAL &&
		      quota_parse(&ql, false, "mappings=", &e) == -EINVAL &&
		      quota_parse(&ql, false, "mappings=1x", &e) == -EINVAL &&
		      quota_parse(&ql, true, "span_mib=99999999999999999",
				  &e) == -EINVAL,
	      "bad numbers refused");
	CHECK(quota_parse(&ql, false, "map=1", &e) == -EINVAL &&
		      quota_parse(&ql, false, "mappings", &e) == -EINVAL &&
		      strstr(e.msg, "NAME=N"),
	      "unknown names refused: %s", e.msg);
}

static void test_owners(void)
{
	struct ownerlist l = TAILQ_HEAD_INITIALIZER(l);
	struct quota_limits ql;
	struct owner *a, *b, *c;

	quota_defaults(&ql);
	a = owner_get(&l, 1000, &ql);
	b = owner_get(&l, 1001, &ql);
	c = owner_get(&l, 1000, &ql);
	CHECK(a && b && a == c && a->o_conns == 2 && b->o_conns == 1,
	      "one owner per uid, counting connections");
	owner_put(&l, a);
	owner_put(&l, b);
	CHECK(TAILQ_FIRST(&l) == a && TAILQ_NEXT(a, o_entry) == NULL,
	      "an owner goes with its last connection");
	owner_put(&l, a);
	CHECK(TAILQ_EMPTY(&l), "all gone");
}

int main(void)
{
	test_region_usage();
	test_check();
	test_parse();
	test_owners();
	return checks_report("test_quota");
}
