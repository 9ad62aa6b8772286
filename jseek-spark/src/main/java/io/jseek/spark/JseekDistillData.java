package io.jseek.spark;

import io.jseek.core.JseekException;
import io.jseek.train.AdditionTask;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.apache.spark.api.java.function.FilterFunction;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.functions;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * The distillation step of the R1 recipe at cluster scale: a teacher samples {@code samples} answers to each of
 * {@code problems} fresh addition problems, the task's rule-based verifier keeps the correct ones (rejection
 * sampling), and the kept traces are written as Parquet — {@code problem}, {@code answer} (the expected sum),
 * {@code sample}, {@code completion}, {@code reasoning}, {@code completion_tokens} — for a student to train on.
 * Rows are seeded per (problem, sample), so the data are the same however the job is partitioned.
 */
public final class JseekDistillData {
    private JseekDistillData() {
    }

    /**
     * For {@code spark-submit --class io.jseek.spark.JseekDistillData jseek-spark.jar MODEL OUT [PROBLEMS [SAMPLES
     * [SEED [PARTITIONS [SLOTS [THREADS]]]]]]} (defaults 1,000 problems, 4 samples, seed 1, 8 partitions, 8 slots, threads
     * from spark.executor.cores): 3-term 2-digit addition problems, sampled at temperature 1, up to 64 tokens.
     */
    public static void main(String[] a) {
        if (a.length < 2) {
            System.err.println("usage: JseekDistillData MODEL OUT [PROBLEMS [SAMPLES [SEED [PARTITIONS [SLOTS [THREADS]]]]]]");
            System.exit(2);
        }
        int problems = a.length > 2 ? Integer.parseInt(a[2]) : 1000;
        int samples = a.length > 3 ? Integer.parseInt(a[3]) : 4;
        long seed = a.length > 4 ? Long.parseLong(a[4]) : 1;
        int partitions = a.length > 5 ? Integer.parseInt(a[5]) : 8;
        int slots = a.length > 6 ? Integer.parseInt(a[6]) : 8;
        int threads = a.length > 7 ? Integer.parseInt(a[7]) : 0;
        SparkSession spark = SparkSession.builder().appName("jseek distill-data").getOrCreate();
        GenerationSpec spec = GenerationSpec.of(a[0]).withSampling(64, 1.0f, 1, 0, 0).withExecutor(slots, 0, threads, true);
        long t0 = System.nanoTime();
        Result r = run(spark, spec, new AdditionTask(3, 3, 2, 0.1), problems, samples, seed, partitions, a[1]);
        System.out.printf("jseek distill-data: %d answers sampled, %d correct kept (%.1f %%), in %.1f s, written to %s%n",
                r.sampled(), r.kept(), 100.0 * r.kept() / r.sampled(), (System.nanoTime() - t0) / 1e9, a[1]);
        spark.stop();
    }

    /** What a run kept. */
    public record Result(long sampled, long kept) {
    }

    /**
     * @param spec the teacher and sampling ({@link GenerationSpec}; its prompt and seed columns are set here)
     * @param out  where the Parquet files go (replaced); complete only when {@code _SUCCESS} is there
     */
    public static Result run(SparkSession spark, GenerationSpec spec, AdditionTask task, int problems, int samples,
                             long seed, int partitions, String out) {
        if (problems < 1 || samples < 1 || partitions < 1) {
            throw new JseekException("problems, samples and partitions must be at least 1");
        }
        Random rnd = new Random(seed);
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < problems; i++) {
            AdditionTask.Problem p = task.problem(rnd);
            for (int j = 0; j < samples; j++) {
                rows.add(RowFactory.create(i, p.question(), p.answer(), j, seed + (long) i * samples + j));
            }
        }
        StructType schema = new StructType().add("problem_id", DataTypes.IntegerType).add("problem", DataTypes.StringType)
                .add("answer", DataTypes.LongType).add("sample", DataTypes.IntegerType).add("seed", DataTypes.LongType);
        Dataset<Row> generated = JseekGeneration.generate(spark.createDataFrame(rows, schema).repartition(partitions),
                spec.withPromptColumn("problem", spec.chat()).withSeedColumn("seed")).cache();
        try {
            Dataset<Row> kept = generated.filter((FilterFunction<Row>) JseekDistillData::correct)
                    .select(functions.col("problem"), functions.col("answer"), functions.col("sample"),
                            functions.col("completion"), functions.col("reasoning"), functions.col("completion_tokens"));
            kept.write().mode(SaveMode.Overwrite).parquet(out);
            return new Result(generated.count(), spark.read().parquet(out).count());
        } finally {
            generated.unpersist();
        }
    }

    /** The task's verifier on the answer part ({@code <answer>N</answer>}; the reasoning is kept, not judged). */
    static boolean correct(Row r) {
        String question = r.getAs("problem");
        String[] terms = question.substring(0, question.length() - 1).split("\\+");
        int[] t = new int[terms.length];
        for (int k = 0; k < t.length; k++) {
            t[k] = Integer.parseInt(terms[k]);
        }
        String completion = r.getAs("completion");
        return completion != null && AdditionTask.judge(new AdditionTask.Problem(t), completion.strip()).correct();
    }
}
