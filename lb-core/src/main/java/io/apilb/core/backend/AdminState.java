package io.apilb.core.backend;

/**
 * What the operator wants of a backend, independent of its health.
 * <ul>
 *   <li>{@code READY}: takes new connections.</li>
 *   <li>{@code DRAIN}: no new connections; established ones are left to finish.</li>
 *   <li>{@code MAINT}: no new connections and established ones are closed.</li>
 * </ul>
 */
public enum AdminState {
    READY,
    DRAIN,
    MAINT
}
