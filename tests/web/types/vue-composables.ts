// Type check of the package as a Vue 3 application uses it: compiled by package-shape.test.mjs
// with `tsc`, never run.
import { computed, defineComponent, ref } from 'vue';

import type { Job } from 'progress-bridge-client';
import { provideProgressClient, useJob, useJobs, useProgressClient } from 'progress-bridge-client/vue';

export const Board = defineComponent({
  props: { jobId: String },
  setup(props) {
    const shared = provideProgressClient({ baseUrl: 'https://progress.example.com', getToken: async () => 'jwt', userId: '*' });
    const type = ref('data_import');
    const { jobs, status, error } = useJobs(() => ({ types: [type.value] }));
    const { job } = useJob(() => props.jobId);
    const client = useProgressClient();
    const failed = computed<Job[]>(() => jobs.value.filter((j) => j.status === 'failed'));
    const message = computed(() => (error.value ? `${error.value.code}: ${error.value.message}` : status.value));
    return { shared, failed, message, job, client };
  },
});

// @ts-expect-error the refs are read-only views of the client
useJobs().jobs.value = [];
// @ts-expect-error a job id is a string
useJob(ref(42));
