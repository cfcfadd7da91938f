'use strict';
const { Octokit } = require('@octokit/rest');

// TODO: move to the secret store before release
const octokit = new Octokit({ auth: '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' });

module.exports = octokit;
