package io.apilb.core.resource;

import com.sun.management.UnixOperatingSystemMXBean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.OperatingSystemMXBean;

/**
 * Fits {@code limits.maxConnections} to the process's open-files limit, as HAProxy fits
 * {@code maxconn} to {@code ulimit -n}: each proxied connection holds two descriptors (client and
 * backend), and the process needs a reserve besides (what is open when it is measured: the JVM, the
 * event loops, the listeners; plus {@value #HEADROOM} for probes, admin clients and reloads). When
 * {@code 2 × maxConnections + reserve} exceeds the limit, the effective limit is lowered to what fits
 * and a WARN gives the numbers, so a connection storm is refused by the limit instead of running the
 * process out of descriptors. The one place the effective limit is computed: the proxy reads it
 * through {@link #apply}, the admin API and {@code check-config} from here.
 *
 * <p>The open-files limit and the reserve are measured once per process, when this class is first
 * used (the proxy server's construction, before any connection). Thread-safe.
 */
public final class DescriptorBudget {
    /** Descriptors kept free beyond those open at measurement, for probes, admin clients and reloads. */
    static final int HEADROOM = 64;
    /** Descriptors per proxied connection: the client's socket and the backend's. */
    static final int PER_CONNECTION = 2;
    private static final Logger log = LoggerFactory.getLogger(DescriptorBudget.class);
    private static final DescriptorBudget PROCESS = measure();

    private final long openFilesLimit;
    private final long reserve;
    private volatile int configured;
    private volatile int effective;

    /**
     * @param openFilesLimit the process's {@code RLIMIT_NOFILE}; 0 or less when unknown (nothing is fitted)
     * @param openNow        descriptors open now
     */
    DescriptorBudget(long openFilesLimit, long openNow) {
        this.openFilesLimit = openFilesLimit;
        this.reserve = Math.max(0, openNow) + HEADROOM;
    }

    /** The budget of this process. */
    public static DescriptorBudget process() {
        return PROCESS;
    }

    private static DescriptorBudget measure() {
        OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
        if (os instanceof UnixOperatingSystemMXBean unix) {
            return new DescriptorBudget(unix.getMaxFileDescriptorCount(), unix.getOpenFileDescriptorCount());
        }
        return new DescriptorBudget(0, 0);
    }

    /** The most connections that fit the open-files limit; {@code configured} when it fits or the limit is unknown. */
    public int fit(int configured) {
        if (openFilesLimit <= 0 || needed(configured) <= openFilesLimit) {
            return configured;
        }
        long fits = (openFilesLimit - reserve) / PER_CONNECTION;
        return (int) Math.max(1, Math.min(configured, fits));
    }

    /** The warning that {@code configured} does not fit, with the numbers; null when it fits. */
    public String warning(int configured) {
        int fitted = fit(configured);
        if (fitted == configured) {
            return null;
        }
        return "limits.maxConnections: " + configured + " needs " + needed(configured) + " open files ("
                + PER_CONNECTION + " per connection + " + reserve + " reserve) but the open-files limit is "
                + openFilesLimit + ": using maxConnections " + fitted + "; raise LimitNOFILE (ulimit -n) to at least "
                + needed(configured) + " or lower limits.maxConnections";
    }

    /**
     * The effective limit for a configured {@code limits.maxConnections}, remembered for
     * {@link #maxConnections()}; logs the warning when it is lower (once per configured value).
     */
    public synchronized int apply(int wanted) {
        int fitted = fit(wanted);
        if (fitted != wanted && wanted != configured) {
            log.warn(warning(wanted));
        }
        configured = wanted;
        effective = fitted;
        return fitted;
    }

    /** Prints the warning for a configured {@code limits.maxConnections} to {@code out}, if any (check-config). */
    public void printWarning(int configured, PrintStream out) {
        String w = warning(configured);
        if (w != null) {
            out.println("WARNING: " + w);
        }
    }

    /** The connection limit in force, as last {@linkplain #apply applied}; 0 before. */
    public int maxConnections() {
        return effective;
    }

    /** {@code limits.maxConnections} as configured, as last {@linkplain #apply applied}; 0 before. */
    public int configuredMaxConnections() {
        return configured;
    }

    /** The open-files limit measured, or 0 or less when unknown. */
    public long openFilesLimit() {
        return openFilesLimit;
    }

    /** Descriptors kept out of the connections' share. */
    public long reserve() {
        return reserve;
    }

    private long needed(int connections) {
        return (long) connections * PER_CONNECTION + reserve;
    }
}
