package io.jseek.model.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.jseek.core.JseekException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link HubClient} against a local fake of the Hub and its storage host ({@link FakeHub}): no network. */
class HubClientTest {
    @TempDir
    Path cacheDir;
    private FakeHub hub;
    private final Random random = new Random(7);

    @BeforeEach
    void start() throws IOException {
        hub = new FakeHub();
    }

    @AfterEach
    void stop() {
        hub.close();
    }

    private byte[] bytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    /** Quick settings: 64 KiB ranges over 4 connections, given retries, a 1 s stall limit. */
    private HubClient client(int retries) {
        return new HubClient(HubSettings.of(hub.endpoint(), cacheDir).withTransfers(4, 64 << 10, retries, Duration.ofSeconds(1)));
    }

    private FakeHub.Repo ggufRepo() {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("README.md", "# tiny\n".getBytes(StandardCharsets.UTF_8));
        files.put("tiny-Q4_K_M.gguf", bytes(40_000));
        files.put("tiny-Q8_0.gguf", bytes(300_000));
        files.put("mmproj-tiny-F16.gguf", bytes(1000));
        return hub.add("acme/tiny-GGUF", false, files);
    }

    @Test
    void pullsAQuantIntoTheSharedCacheLayout() throws IOException {
        FakeHub.Repo repo = ggufRepo();
        HubClient.Pulled p = client(0).pull(HubRef.parse("acme/tiny-GGUF:q8_0"), HubClient.Progress.NONE);
        byte[] want = repo.files().get("tiny-Q8_0.gguf");
        Path repoDir = cacheDir.resolve("models--acme--tiny-GGUF");
        assertEquals(repoDir.resolve("snapshots").resolve(repo.commit()).resolve("tiny-Q8_0.gguf"), p.path());
        assertArrayEquals(want, Files.readAllBytes(p.path()));
        assertTrue(Files.isSymbolicLink(p.path()));
        assertEquals(Path.of("../../blobs/" + FakeHub.sha256(want)), Files.readSymbolicLink(p.path()));
        assertEquals(repo.commit(), Files.readString(repoDir.resolve("refs/main")));
        assertEquals(List.of("tiny-Q8_0.gguf"), p.files());
        try (Stream<Path> blobs = Files.list(repoDir.resolve("blobs"))) {
            assertEquals(List.of(FakeHub.sha256(want)), blobs.map(b -> b.getFileName().toString()).toList());
        }
        // Without a tag, llama.cpp's default quantization; projector files are not models.
        assertTrue(client(0).pull(HubRef.parse("hf:acme/tiny-GGUF"), HubClient.Progress.NONE).path().endsWith("tiny-Q4_K_M.gguf"));
        // A second pull finds everything in the cache: only the listing goes to the Hub.
        hub.seen.clear();
        client(0).pull(HubRef.parse("acme/tiny-GGUF:Q8_0"), HubClient.Progress.NONE);
        assertEquals(List.of("GET"), hub.seen.stream().map(FakeHub.Seen::method).toList());
    }

    @Test
    void splitModelsComeWhole() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        for (int i = 1; i <= 3; i++) {
            files.put("UD-IQ1_S/R1-UD-IQ1_S-0000" + i + "-of-00003.gguf", bytes(10_000 + i));
        }
        files.put("R1-Q2_K.gguf", bytes(100));
        FakeHub.Repo repo = hub.add("acme/R1-GGUF", false, files);
        HubClient.Pulled p = client(0).pull(HubRef.parse("acme/R1-GGUF:UD-IQ1_S"), HubClient.Progress.NONE);
        assertTrue(p.path().endsWith("UD-IQ1_S/R1-UD-IQ1_S-00001-of-00003.gguf"), p.path().toString());
        assertEquals(3, p.files().size());
        for (String f : p.files()) {
            assertArrayEquals(repo.files().get(f), Files.readAllBytes(p.path().getParent().getParent().resolve(f)));
        }
        // Naming any part by its file name fetches the model whole.
        HubClient.Pulled q = client(0).pull(HubRef.parse("acme/R1-GGUF:UD-IQ1_S/R1-UD-IQ1_S-00002-of-00003.gguf"), HubClient.Progress.NONE);
        assertEquals(p.path(), q.path());
    }

    @Test
    void safetensorsRepositoryIsAModelDirectory() throws IOException {
        Map<String, byte[]> files = new LinkedHashMap<>();
        files.put("config.json", "{\"model_type\":\"deepseek_v3\"}".getBytes(StandardCharsets.UTF_8));
        files.put("tokenizer.json", "{}".getBytes(StandardCharsets.UTF_8));
        files.put("tokenizer_config.json", "{}".getBytes(StandardCharsets.UTF_8));
        files.put("model-00001-of-00002.safetensors", bytes(20_000));
        files.put("model-00002-of-00002.safetensors", bytes(20_000));
        files.put("model.safetensors.index.json", "{}".getBytes(StandardCharsets.UTF_8));
        files.put("README.md", "x".getBytes(StandardCharsets.UTF_8));
        files.put("figures/benchmark.png", bytes(500));
        FakeHub.Repo repo = hub.add("deepseek-ai/Tiny-V3", false, files);
        HubClient.Pulled p = client(0).pull(HubRef.parse("deepseek-ai/Tiny-V3"), HubClient.Progress.NONE);
        assertTrue(Files.isDirectory(p.path()));
        assertEquals(6, p.files().size());
        assertFalse(Files.exists(p.path().resolve("README.md")));
        assertArrayEquals(repo.files().get("config.json"), Files.readAllBytes(p.path().resolve("config.json")));
        assertArrayEquals(repo.files().get("model-00002-of-00002.safetensors"),
                Files.readAllBytes(p.path().resolve("model-00002-of-00002.safetensors")));
    }

    @Test
    void largeFilesComeInParallelRanges() throws IOException {
        Map<String, byte[]> files = Map.of("big-Q4_0.gguf", bytes(1_000_000));
        hub.add("acme/big", false, files);
        HubClient.Pulled p = client(0).pull(HubRef.parse("acme/big"), HubClient.Progress.NONE);
        assertArrayEquals(files.get("big-Q4_0.gguf"), Files.readAllBytes(p.path()));
        List<FakeHub.Seen> ranges = hub.storageRequests();
        assertEquals(16, ranges.size()); // ceil(1,000,000 / 65,536)
        assertTrue(ranges.stream().allMatch(s -> s.range() != null && s.range().matches("bytes=\\d+-\\d+")));
    }

    @Test
    void aCutTransferKeepsItsPartAndTheNextPullResumesIt() throws IOException {
        byte[] data = bytes(120_000); // below two ranges: one stream
        hub.add("acme/cut", false, Map.of("cut-Q8_0.gguf", data));
        hub.cutAfter = 50_000;
        hub.cuts.set(1);
        JseekException e = assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("acme/cut"), HubClient.Progress.NONE));
        assertTrue(e.getMessage().contains("partial file is kept") && e.getMessage().contains("resume"), e.getMessage());
        Path blobs = cacheDir.resolve("models--acme--cut/blobs");
        Path part = blobs.resolve(FakeHub.sha256(data) + ".incomplete");
        // What arrived before the cut (the server sent 50,000 bytes; the last of them may be lost with the connection).
        long kept = Files.size(part);
        assertTrue(kept > 0 && kept <= 50_000, "kept " + kept);
        assertFalse(Files.exists(blobs.resolve(FakeHub.sha256(data))));
        assertFalse(Files.exists(cacheDir.resolve("models--acme--cut/snapshots")));

        hub.seen.clear();
        HubClient.Pulled p = client(0).pull(HubRef.parse("acme/cut"), HubClient.Progress.NONE);
        assertArrayEquals(data, Files.readAllBytes(p.path()));
        assertEquals(List.of("bytes=" + kept + "-"), hub.storageRequests().stream().map(FakeHub.Seen::range).toList());
        assertFalse(Files.exists(part));
    }

    @Test
    void cutRangesAreFetchedAgainAndOnlyThey() throws IOException {
        byte[] data = bytes(400_000); // 7 ranges of 64 KiB
        hub.add("acme/cut2", false, Map.of("m-Q8_0.gguf", data));
        hub.cutAfter = 10_000;
        hub.cuts.set(2);
        JseekException e = assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("acme/cut2"), HubClient.Progress.NONE));
        assertTrue(e.getMessage().contains("run the same command again to resume"), e.getMessage());
        Path chunks = cacheDir.resolve("models--acme--cut2/blobs/" + FakeHub.sha256(data) + ".incomplete.chunks");
        assertEquals(5, Files.readAllLines(chunks).size());
        hub.seen.clear();
        HubClient.Pulled p = client(0).pull(HubRef.parse("acme/cut2"), HubClient.Progress.NONE);
        assertArrayEquals(data, Files.readAllBytes(p.path()));
        assertEquals(2, hub.storageRequests().size(), hub.storageRequests().toString());
        assertFalse(Files.exists(chunks));
    }

    @Test
    void aRangeCutMidwayIsRetriedFromWhereItStopped() throws IOException {
        byte[] data = bytes(400_000);
        hub.add("acme/cut3", false, Map.of("m-Q8_0.gguf", data));
        hub.cutAfter = 10_000;
        hub.cuts.set(1);
        HubClient.Pulled p = client(2).pull(HubRef.parse("acme/cut3"), HubClient.Progress.NONE);
        assertArrayEquals(data, Files.readAllBytes(p.path()));
        List<String> ranges = hub.storageRequests().stream().map(FakeHub.Seen::range).toList();
        assertEquals(8, ranges.size(), ranges.toString());
        // The cut range asked again from the byte it stopped at (up to 10,000 into its 64 KiB).
        assertTrue(ranges.stream().anyMatch(r -> {
            long into = Long.parseLong(r.substring(6, r.indexOf('-'))) % 65_536;
            return into > 0 && into <= 10_000;
        }), ranges.toString());
    }

    @Test
    void aStreamsPartialFileCountsForTheRangesItCovers() throws IOException {
        byte[] data = bytes(400_000);
        hub.add("acme/cut4", false, Map.of("m-Q8_0.gguf", data));
        hub.cutAfter = 150_000;
        hub.cuts.set(1);
        assertThrows(JseekException.class, () -> new HubClient(HubSettings.of(hub.endpoint(), cacheDir)
                .withTransfers(1, 64 << 10, 0, Duration.ofSeconds(1))).pull(HubRef.parse("acme/cut4"), HubClient.Progress.NONE));
        long kept = Files.size(cacheDir.resolve("models--acme--cut4/blobs/" + FakeHub.sha256(data) + ".incomplete"));
        hub.seen.clear();
        HubClient.Pulled p = client(0).pull(HubRef.parse("acme/cut4"), HubClient.Progress.NONE);
        assertArrayEquals(data, Files.readAllBytes(p.path()));
        // The ranges the partial file covers whole are not asked for again (2 of 7 when all 150,000 bytes arrived).
        assertEquals(7 - kept / 65_536, hub.storageRequests().size(), hub.storageRequests() + ", kept " + kept);
    }

    @Test
    void retriesResumeACutTransferByThemselves() throws IOException {
        byte[] data = bytes(100_000);
        hub.add("acme/flaky", false, Map.of("f-Q4_0.gguf", data));
        hub.cuts.set(1);
        HubClient.Pulled p = client(2).pull(HubRef.parse("acme/flaky"), HubClient.Progress.NONE);
        assertArrayEquals(data, Files.readAllBytes(p.path()));
        List<String> ranges = hub.storageRequests().stream().map(FakeHub.Seen::range).toList();
        assertEquals(2, ranges.size(), ranges.toString());
        assertEquals(null, ranges.get(0));
        long from = Long.parseLong(ranges.get(1).replaceAll("bytes=(\\d+)-", "$1"));
        assertTrue(from > 0 && from <= 50_000, ranges.toString()); // resumed where the cut left it
    }

    @Test
    void aChecksumMismatchLeavesNothingInTheCache() throws IOException {
        hub.add("acme/bad", false, Map.of("bad-Q4_0.gguf", bytes(30_000)));
        hub.corrupt.add("bad-Q4_0.gguf");
        JseekException e = assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("acme/bad"), HubClient.Progress.NONE));
        assertTrue(e.getMessage().contains("checksum mismatch for bad-Q4_0.gguf"), e.getMessage());
        try (Stream<Path> left = Files.list(cacheDir.resolve("models--acme--bad/blobs"))) {
            assertEquals(List.of(), left.toList());
        }
        assertFalse(Files.exists(cacheDir.resolve("models--acme--bad/snapshots")));
    }

    @Test
    void errorsNameWhatWasAskedFor() {
        ggufRepo();
        assertTrue(assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("acme/nothing"), HubClient.Progress.NONE))
                .getMessage().contains("repository acme/nothing not found"));
        String m = assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("acme/tiny-GGUF:IQ2_XXS"), HubClient.Progress.NONE)).getMessage();
        assertTrue(m.contains("no file or GGUF quantization 'IQ2_XXS'") && m.contains("tiny-Q8_0.gguf"), m);
        assertTrue(assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("acme/tiny-GGUF@v9"), HubClient.Progress.NONE))
                .getMessage().contains("revision v9 not found"));
        assertThrows(IllegalArgumentException.class, () -> HubRef.parse("not a repo"));
    }

    @Test
    void gatedRepositoriesNeedTheTokenWhichNeverLeavesTheHub() throws IOException {
        byte[] data = bytes(5_000);
        hub.add("meta/gated", true, Map.of("g-Q8_0.gguf", data));
        String m = assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("meta/gated"), HubClient.Progress.NONE)).getMessage();
        assertTrue(m.contains("set HF_TOKEN"), m);
        HubClient withToken = new HubClient(HubSettings.of(hub.endpoint(), cacheDir).withToken(FakeHub.TOKEN));
        assertArrayEquals(data, Files.readAllBytes(withToken.pull(HubRef.parse("meta/gated"), HubClient.Progress.NONE).path()));
        assertTrue(hub.seen.stream().filter(s -> s.host().equals("hub")).anyMatch(s -> ("Bearer " + FakeHub.TOKEN).equals(s.authorization())));
        assertTrue(hub.storageRequests().stream().allMatch(s -> s.authorization() == null));
    }

    @Test
    void serverErrorsAreRetried() throws IOException {
        ggufRepo();
        hub.apiFailures.set(2);
        assertTrue(Files.isRegularFile(client(3).pull(HubRef.parse("acme/tiny-GGUF:Q8_0"), HubClient.Progress.NONE).path()));
        hub.apiFailures.set(100);
        assertTrue(assertThrows(JseekException.class, () -> client(1).pull(HubRef.parse("acme/tiny-GGUF:Q8_0"), HubClient.Progress.NONE))
                .getMessage().contains("HTTP 503"));
    }

    @Test
    void aStalledTransferIsCutAndKept() {
        hub.add("acme/stall", false, Map.of("s-Q8_0.gguf", bytes(20_000)));
        hub.stalls.set(1);
        String m = assertThrows(JseekException.class, () -> client(0).pull(HubRef.parse("acme/stall"), HubClient.Progress.NONE)).getMessage();
        assertTrue(m.contains("no data for 1 s") && m.contains("kept"), m);
    }

    @Test
    void concurrentPullsOfOneFileDownloadItOnce() throws Exception {
        byte[] data = bytes(300_000);
        hub.add("acme/two", false, Map.of("t-Q8_0.gguf", data));
        java.util.concurrent.ExecutorService ex = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var a = ex.submit(() -> client(0).pull(HubRef.parse("acme/two"), HubClient.Progress.NONE));
            var b = ex.submit(() -> client(0).pull(HubRef.parse("acme/two"), HubClient.Progress.NONE));
            assertArrayEquals(data, Files.readAllBytes(a.get().path()));
            assertEquals(a.get().path(), b.get().path());
        } finally {
            ex.shutdown();
        }
        assertEquals(5, hub.storageRequests().size()); // one download: 5 ranges of 64 KiB
    }

    @Test
    void offlineUsesTheCacheAlone() throws IOException {
        ggufRepo();
        HubClient.Pulled online = client(0).pull(HubRef.parse("acme/tiny-GGUF:Q8_0"), HubClient.Progress.NONE);
        hub.close();
        HubClient offline = new HubClient(HubSettings.of(hub.endpoint(), cacheDir).withOffline(true));
        assertEquals(online.path(), offline.pull(HubRef.parse("acme/tiny-GGUF:Q8_0"), HubClient.Progress.NONE).path());
        assertTrue(assertThrows(JseekException.class, () -> offline.pull(HubRef.parse("acme/other"), HubClient.Progress.NONE))
                .getMessage().contains("HF_HUB_OFFLINE"));
    }

    @Test
    void listAndRemove() throws IOException {
        FakeHub.Repo repo = ggufRepo();
        HubClient c = client(0);
        c.pull(HubRef.parse("acme/tiny-GGUF:Q8_0"), HubClient.Progress.NONE);
        c.pull(HubRef.parse("acme/tiny-GGUF:Q4_K_M"), HubClient.Progress.NONE);
        List<HubCache.Entry> entries = c.cache().list();
        assertEquals(1, entries.size());
        assertEquals("acme/tiny-GGUF", entries.get(0).repo());
        assertEquals(List.of("tiny-Q4_K_M.gguf", "tiny-Q8_0.gguf"), entries.get(0).files());
        assertEquals(340_000, entries.get(0).bytes());
        assertEquals(300_000, c.cache().remove("acme/tiny-GGUF", List.of("tiny-Q8_0.gguf")));
        assertEquals(List.of("tiny-Q4_K_M.gguf"), c.cache().list().get(0).files());
        assertEquals(40_000, c.cache().remove("acme/tiny-GGUF", null));
        assertEquals(List.of(), c.cache().list());
        assertNull(c.cache().commitOf("acme/tiny-GGUF", "main"));
        assertTrue(repo.files().containsKey("README.md"));
    }

    @Test
    void environmentSettings() {
        HubSettings s = HubSettings.fromEnvironment(Map.of("HF_HOME", "/x/hf", "HF_TOKEN", "t", "HF_HUB_OFFLINE", "1",
                "HF_ENDPOINT", "http://mirror:8080/"));
        assertEquals(Path.of("/x/hf/hub"), s.cache());
        assertEquals("t", s.token());
        assertTrue(s.offline());
        assertEquals("http://mirror:8080", s.endpoint().toString());
        assertEquals(Path.of("/c"), HubSettings.fromEnvironment(Map.of("HF_HUB_CACHE", "/c", "HF_HOME", "/x")).cache());
    }
}
