"""The time one S3 call may take at worst: numbers only, so that `miss` can check the
time left against them before `storage` (and with it boto3) is imported.

Every attempt stalls to its timeouts, with the longest backoff in between (standard
mode waits up to 2**i s after attempt i + 1 when throttled): 2 x (1 + 3) + 1 = 9 s,
so a read and a write together stall at most 18 s of Lambda@Edge's 30. A body that
keeps coming, but slowly, is given up on by the time left instead (storage.read_in_time).
(botocore's plain "max_attempts" counts retries, not attempts: 3 meant 4 attempts.)

Not counted: botocore 1.44 and later stretch a backoff to a service's x-amz-retry-after, by up to
5 s more (the runtime's botocore may be older, and then this bound is exact).
Should S3 send it, a read and a write that both stall could run into Lambda's own timeout,
which CloudFront answers 503 as we would (Lambda logs it); counting it would instead leave
every render of more than about 12 s unstored, rendered again on each request.
"""

MAX_ATTEMPTS = 2
CONNECT_TIMEOUT_S = 1
READ_TIMEOUT_S = 3
WORST_CALL_MS = 1000 * (
    MAX_ATTEMPTS * (CONNECT_TIMEOUT_S + READ_TIMEOUT_S) + sum(2**attempt for attempt in range(MAX_ATTEMPTS - 1))
)
