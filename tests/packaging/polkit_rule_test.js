// The polkit rule of systemd/polkit/, run the way polkitd runs it: the file is evaluated with a
// `polkit` object whose addRule() collects the function, which is then asked about actions.
'use strict';
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const test = require('node:test');
const vm = require('node:vm');

const file = process.env.TK_POLKIT_RULE ||
    path.join(__dirname, '../../systemd/polkit/60-tenderkey-pcscd.rules');

function load() {
    const rules = [];
    const polkit = {
        Result: {YES: 'yes', NO: 'no', AUTH_ADMIN: 'auth_admin', NOT_HANDLED: null},
        addRule: (rule) => rules.push(rule),
    };
    vm.runInNewContext(fs.readFileSync(file, 'utf8'), {polkit});
    assert.strictEqual(rules.length, 1);
    return (id, user) => rules[0]({id}, {user});
}

test('PolkitRule_TenderkeyUser_MayUsePcscdAndCards', () => {
    const decide = load();
    assert.strictEqual(decide('org.debian.pcsc-lite.access_pcsc', 'tenderkey'), 'yes');
    assert.strictEqual(decide('org.debian.pcsc-lite.access_card', 'tenderkey'), 'yes');
});

test('PolkitRule_OtherUsers_AreLeftToTheDefaults', () => {
    const decide = load();
    assert.strictEqual(decide('org.debian.pcsc-lite.access_pcsc', 'www-data'), null);
    assert.strictEqual(decide('org.debian.pcsc-lite.access_card', 'nobody'), null);
});

test('PolkitRule_OtherActions_AreLeftToTheDefaults', () => {
    const decide = load();
    assert.strictEqual(decide('org.freedesktop.login1.reboot', 'tenderkey'), null);
    assert.strictEqual(decide('org.freedesktop.systemd1.manage-units', 'tenderkey'), null);
});
