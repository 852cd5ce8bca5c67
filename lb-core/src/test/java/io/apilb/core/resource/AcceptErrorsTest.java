package io.apilb.core.resource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.channel.embedded.EmbeddedChannel;

import java.io.IOException;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

/** What a listener does when {@code accept} fails. */
class AcceptErrorsTest {

    @Test
    void localShortageIsCountedAndPausesAcceptingBriefly() {
        EmbeddedChannel listener = new EmbeddedChannel(new AcceptErrors("api"));
        try {
            listener.freezeTime();
            long before = LocalResources.process().count(LocalResourceError.EMFILE);

            listener.pipeline().fireExceptionCaught(new IOException("accept(..) failed: Too many open files"));

            listener.checkException();
            assertEquals(before + 1, LocalResources.process().count(LocalResourceError.EMFILE));
            assertFalse(listener.config().isAutoRead(), "accepting paused");
            listener.advanceTimeBy(AcceptErrors.PAUSE_MILLIS - 1, TimeUnit.MILLISECONDS);
            listener.runScheduledPendingTasks();
            assertFalse(listener.config().isAutoRead());
            listener.advanceTimeBy(1, TimeUnit.MILLISECONDS);
            listener.runScheduledPendingTasks();
            assertTrue(listener.config().isAutoRead(), "accepting again after the pause");
        } finally {
            listener.finishAndReleaseAll();
        }
    }

    @Test
    void otherErrorsGoOnDownThePipeline() {
        EmbeddedChannel listener = new EmbeddedChannel(new AcceptErrors("api"));
        try {
            IOException other = new IOException("Invalid argument");
            listener.pipeline().fireExceptionCaught(other);
            assertSame(other, assertThrows(IOException.class, listener::checkException));
            assertTrue(listener.config().isAutoRead());
        } finally {
            listener.finishAndReleaseAll();
        }
    }
}
