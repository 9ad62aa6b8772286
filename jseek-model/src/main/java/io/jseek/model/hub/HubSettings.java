package io.jseek.model.hub;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;

/**
 * Where and how to reach the Hugging Face Hub, read from the environment variables Hugging Face's own tools
 * read, so that downloads land in the cache they share: {@code HF_ENDPOINT} (default
 * https://huggingface.co), {@code HF_HUB_CACHE} or {@code HF_HOME}/hub (default ~/.cache/huggingface/hub),
 * {@code HF_TOKEN} (else the file {@code HF_TOKEN_PATH} or {@code HF_HOME}/token), {@code HF_HUB_OFFLINE}.
 *
 * @param connections parallel range requests for one large file
 * @param chunkBytes  size of the ranges a large file is split into (files of two chunks or more go in parallel)
 * @param retries     attempts after a failed request or a cut transfer before giving up (the partial file stays)
 * @param stall       a transfer that delivers no byte for this long is cut and retried
 */
public record HubSettings(URI endpoint, Path cache, String token, boolean offline, int connections,
                          long chunkBytes, int retries, Duration stall) {

    public static final String DEFAULT_ENDPOINT = "https://huggingface.co";

    public HubSettings {
        if (connections < 1 || chunkBytes < 1 || retries < 0) {
            throw new IllegalArgumentException("connections and chunk size must be positive, retries not negative");
        }
    }

    /** Settings for {@code endpoint} and {@code cache} with the defaults: no token, online, 4 connections of 64 MiB ranges, 3 retries. */
    public static HubSettings of(URI endpoint, Path cache) {
        return new HubSettings(endpoint, cache, null, false, 4, 64L << 20, 3, Duration.ofSeconds(60));
    }

    /** The settings the environment gives ({@code System.getenv()} in the command line). */
    public static HubSettings fromEnvironment(Map<String, String> env) {
        Path home = Path.of(System.getProperty("user.home"));
        Path hfHome = env.containsKey("HF_HOME") ? Path.of(env.get("HF_HOME"))
                : env.containsKey("XDG_CACHE_HOME") ? Path.of(env.get("XDG_CACHE_HOME"), "huggingface")
                : home.resolve(".cache").resolve("huggingface");
        Path cache = env.containsKey("HF_HUB_CACHE") ? Path.of(env.get("HF_HUB_CACHE")) : hfHome.resolve("hub");
        String token = blankToNull(env.get("HF_TOKEN"));
        if (token == null) {
            Path file = env.containsKey("HF_TOKEN_PATH") ? Path.of(env.get("HF_TOKEN_PATH")) : hfHome.resolve("token");
            try {
                token = Files.isRegularFile(file) ? blankToNull(Files.readString(file).strip()) : null;
            } catch (java.io.IOException e) {
                token = null;
            }
        }
        String offline = env.getOrDefault("HF_HUB_OFFLINE", "");
        String endpoint = env.getOrDefault("HF_ENDPOINT", DEFAULT_ENDPOINT).replaceAll("/+$", "");
        return new HubSettings(URI.create(endpoint), cache, token,
                offline.equals("1") || offline.equalsIgnoreCase("true") || offline.equalsIgnoreCase("yes"),
                4, 64L << 20, 3, Duration.ofSeconds(60));
    }

    public HubSettings withToken(String t) {
        return new HubSettings(endpoint, cache, t, offline, connections, chunkBytes, retries, stall);
    }

    public HubSettings withOffline(boolean o) {
        return new HubSettings(endpoint, cache, token, o, connections, chunkBytes, retries, stall);
    }

    public HubSettings withTransfers(int conns, long chunk, int tries, Duration stallAfter) {
        return new HubSettings(endpoint, cache, token, offline, conns, chunk, tries, stallAfter);
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}
