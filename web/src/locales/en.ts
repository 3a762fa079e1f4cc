// English strings. zh-CN.ts must have exactly the same keys (a unit test checks).
const en = {
  common: { cancel: 'Cancel', loading: 'Loading…', none: 'Nothing', notFound: 'There is no such page.', unknownError: 'Something went wrong.' },
  nav: { flows: 'Flows', runs: 'Runs' },
  header: { language: 'Language', signOut: 'Sign out', languages: { en: 'English', 'zh-CN': '简体中文' } },
  roles: { admin: 'admin', editor: 'editor', operator: 'operator', viewer: 'viewer' },
  gate: {
    setupTitle: 'Set up', signInTitle: 'Sign in',
    setupHelp: 'Ferry has no users yet. Create the first admin.',
    email: 'E-mail', emailInvalid: 'Enter a valid e-mail address.', password: 'Password',
    passwordShort: 'The password must have at least 10 characters.',
    createAdmin: 'Create admin', signIn: 'Sign in',
    tokenTitle: 'Your first API token', tokenHelp: 'For scripts. It is shown only this once: keep it somewhere safe.', continue: 'Continue',
  },
  status: {
    draft: 'draft', published: 'published', paused: 'paused', queued: 'queued', running: 'running', waiting: 'waiting',
    succeeded: 'succeeded', failed: 'failed', cancelled: 'cancelled', dry_run: 'dry run', skipped: 'skipped',
  },
  categories: {
    trigger: 'Triggers', logic: 'Logic', data: 'Data', action: 'Actions', payments: 'Payments', shops: 'Shops', crm: 'CRM',
    notifications: 'Notifications', utilities: 'Utilities',
  },
  flows: {
    title: 'Flows', search: 'Search by name', import: 'Import…', create: 'New flow', createTitle: 'New flow',
    createHelp: 'The flow starts with a webhook trigger; add steps in the editor.', name: 'Name', nameRequired: 'Give the flow a name.',
    status: 'Status', version: 'Published', webhook: 'Webhook', updated: 'Updated', edit: 'Edit', runs: 'Runs', export: 'Export',
    empty: 'No flows yet. Create one or import a flow document.', noMatch: 'No flow matches.', imported: 'Imported "{{name}}".',
  },
  runs: {
    title: 'Runs', flow: 'Flow', status: 'Status', businessKey: 'Business key (order number, transaction id)', run: 'Run', mode: 'Mode',
    version: 'Version', created: 'Created', duration: 'Duration', empty: 'No runs yet.', noMatch: 'No run has this business key.',
    previous: 'Previous', next: 'Next', page: 'Page {{page}}', modes: { live: 'live', test: 'test' },
  },
  run: {
    title: 'Run', retry: 'Retry', replay: 'Replay', cancel: 'Cancel run',
    retryConfirm: 'Resume this run at its failed step?', replayConfirm: 'Start a new run with the same payload?',
    cancelConfirm: 'Cancel this run?', retryDone: 'Retry started.', replayDone: 'Replay started.', cancelDone: 'Run cancelled.',
    attempt: 'Attempt', finished: 'Finished', replayOf: 'Replay of', error: 'Error', trigger: 'Trigger payload', response: 'Response',
    noSteps: 'No steps yet.', input: 'Input', output: 'Output', node: 'Node', port: 'Port', started: 'Started',
  },
  editor: {
    searchNodes: 'Search nodes', noNodes: 'No node matches.', trigger: 'trigger', errorPort: 'Error',
    unknownType: 'Unknown node type {{type}}', problemCount_one: '{{count}} problem', problemCount_other: '{{count}} problems',
    revision: 'revision {{revision}}', unsaved: 'unsaved changes', test: 'Test run…', save: 'Save', publish: 'Publish',
    saved: 'Draft saved.', published: 'Published as version {{version}}.',
    conflictTitle: 'Someone else saved this flow', conflict: 'Another save happened after you opened this flow. Reload the page to see it (your changes here are not saved).',
    publishTitle: 'Publish the draft', publishMessage: 'What changed (optional)', publishSavesFirst: 'Your unsaved changes are saved first.',
    testTitle: 'Test run', testHelp: 'Runs the canvas as it is now, in test mode: side-effecting steps only report what they would send. Type the sample payload as JSON.',
    runTest: 'Run', testResult: 'Test run:', openRun: 'Open run', invalidJson: 'Not valid JSON',
    inputData: 'Input', outputData: 'Output', settings: 'Settings', runTestHint: 'Run a test to see data here.',
    nodeName: 'Name', credential: 'Credential', credentialTypes: 'Accepts: {{types}}', noCredentials: 'No credential of a matching type.',
    noParams: 'This node has no settings.', required: 'Required', advanced: 'advanced', examples: 'Examples',
    durationPlaceholder: 'for example 30s, 5m, 1h', key: 'Key', value: 'Value', remove: 'Remove', addRow: 'Add',
    lineColumn: 'line {{line}}, column {{column}}',
  },
};

export default en;
export type Messages = typeof en;
