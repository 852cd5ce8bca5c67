package io.apilb.health;

/**
 * Outcome of one probe, named like HAProxy's check status so operators read it at a glance:
 * layer 4 (TCP), 6 (TLS), 7 (HTTP), then what happened there.
 */
public enum CheckStatus {
    /** TCP connect succeeded (mode tcp). */
    L4OK(true, true),
    /** TCP connect timed out: the host drops packets or is gone. */
    L4TOUT(false, true),
    /** TCP connect refused or failed: nothing listens. */
    L4CON(false, true),
    /**
     * The probe could not be made: apilb ran short of its own resources (descriptors, local ports,
     * buffers, memory). Says nothing about the master: not a failure for rise/fall, never a verdict.
     */
    L4RES(false, false),
    /** TLS handshake succeeded (mode tls). */
    L6OK(true, true),
    /** TLS handshake did not finish in time: the process accepts but is hung. */
    L6TOUT(false, true),
    /** TLS handshake failed: bad certificate, wrong name, protocol error. */
    L6RSP(false, false),
    /** HTTP status expected (mode https). */
    L7OK(true, true),
    /** No complete HTTP response in time. */
    L7TOUT(false, true),
    /** Malformed HTTP response. */
    L7RSP(false, false),
    /** HTTP status not expected: alive but not ready (e.g. /readyz 500 during graceful shutdown). */
    L7STS(false, false);

    private final boolean ok;
    private final boolean deadWhenFailed;

    CheckStatus(boolean ok, boolean deadWhenFailed) {
        this.ok = ok;
        this.deadWhenFailed = deadWhenFailed;
    }

    /** True for the three OK statuses. */
    public boolean ok() {
        return ok;
    }

    /** False for {@link #L4RES}: the probe never reached the master, so it counts neither way. */
    public boolean observedMaster() {
        return this != L4RES;
    }

    /**
     * True when a failure with this status means the master stopped answering (its connections are
     * closed on DOWN); false when it answered, only wrongly (its connections are left to finish).
     */
    public boolean meansDead() {
        return !ok && deadWhenFailed;
    }
}
